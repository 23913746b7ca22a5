-- Opt-in hardening: close the app's queue to browsers (docs/contract.md §6a).
--
-- On a live project Supabase's `pgmq_public` wrappers are executable by `anon` and `authenticated`,
-- and the queue's tables are granted to them, so any browser holding the anon key can not only
-- enqueue but also read, pop, delete or archive other users' messages: watch who is queued, or
-- drain the queue. This file closes that, and keeps what the app needs: its server enqueues with
-- the anon key (`pgmq_public.send`), so `send` and `send_batch` stay open.
--
-- After it, for `anon` and `authenticated` on `stranger-queue`:
--   * `pgmq_public.read`, `pop`, `delete` and `archive` are not executable (PostgREST answers 401
--     or 403 with SQLSTATE 42501); `send` and `send_batch` work as before;
--   * on the queue table they keep `insert`, and `select` of `msg_id` alone (pgmq's `send` returns
--     the new id); `select` of the rest, `update` and `delete` are revoked, so `pgmq.read`/`pop`/
--     `delete` fail for them even if called some other way;
--   * the archive table is closed to them entirely.
-- `service_role` (the matchmaker) keeps everything. Nothing is dropped or replaced.
--
-- This is not a migration: it revokes grants Supabase created, which our migrations never do. Run
-- it on purpose, after the migrations, in one transaction (`-1`), for example:
--
--     psql "$DATABASE_URL" -1 -v ON_ERROR_STOP=1 -f deploy/supabase/hardening/close_queue_to_browsers.sql
--
-- Running it twice is harmless. To reopen the queue as Supabase had it, run the statements in the
-- comment at the end.

-- The PostgREST entry points that read or remove messages.
revoke execute on function pgmq_public.read(text, integer, integer) from public, anon, authenticated;
revoke execute on function pgmq_public.pop(text) from public, anon, authenticated;
revoke execute on function pgmq_public.delete(text, bigint) from public, anon, authenticated;
revoke execute on function pgmq_public.archive(text, bigint) from public, anon, authenticated;

-- The queue table itself: enqueue only.
revoke select, update, delete, truncate, references, trigger on pgmq."q_stranger-queue" from public, anon, authenticated;
grant insert on pgmq."q_stranger-queue" to anon, authenticated;
grant select (msg_id) on pgmq."q_stranger-queue" to anon, authenticated;

-- The archive: nothing.
revoke all on pgmq."a_stranger-queue" from public, anon, authenticated;

-- The matchmaker's role keeps every right it had.
grant execute on function pgmq_public.read(text, integer, integer), pgmq_public.pop(text),
    pgmq_public.delete(text, bigint), pgmq_public.archive(text, bigint) to service_role;
grant select, insert, update, delete on pgmq."q_stranger-queue", pgmq."a_stranger-queue" to service_role;

-- To reopen (Supabase's grants, as before this file):
--
--     grant execute on function pgmq_public.read(text, integer, integer), pgmq_public.pop(text),
--         pgmq_public.delete(text, bigint), pgmq_public.archive(text, bigint) to anon, authenticated;
--     grant select, insert, update, delete on pgmq."q_stranger-queue", pgmq."a_stranger-queue" to anon, authenticated;
