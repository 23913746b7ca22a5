-- Opt-in hardening: private notification channels (docs/contract.md §5, NOTIFY_PRIVATE=true).
--
-- With public channels (the app's default, as the original had it), anyone holding the anon key can
-- join `user:<someone>` and read that user's `stranger_matched`, and anyone can broadcast a forged
-- one there. Realtime's answer is private channels guarded by row-level security on
-- `realtime.messages`: a SELECT policy decides who may receive on a topic, an INSERT policy who may
-- send. (Realtime checks both by probing rows of `realtime.messages` whose `topic` is the channel's,
-- under the client's role and claims, so the policies read the row's `topic`; that also covers a
-- direct read or insert of the table.) This file adds two policies:
--
--   * receive: a signed-in user (`authenticated`) may read broadcasts on `user:<their id>` and on no
--     other `user:` topic, where their id is the `sub` claim of the token Realtime was given;
--   * send: on `user:` topics nobody but the service role may send. The policy is RESTRICTIVE, so it
--     holds even where the project has permissive insert policies of its own for other channels;
--     the matchmaker sends as the service role (REST broadcast) or as the database owner
--     (`realtime.send`), which row-level security does not restrict.
--
-- It takes three steps together, in this order:
--   1. the web app joins `user:<id>` with `{ config: { private: true } }` and gives Realtime an access
--      token whose `sub` is the app's user id (`supabase.realtime.setAuth(token)`);
--   2. this file, after the migrations: psql "$DATABASE_URL" -1 -v ON_ERROR_STOP=1 -f deploy/supabase/hardening/private_user_channels.sql
--   3. the matchmaker with NOTIFY_PRIVATE=true.
-- A browser still on public channels keeps receiving until step 3; after it, only private joins do.
--
-- Policies are only added, never replaced: running the file twice is harmless. To undo it, drop the
-- two policies by name.

do $policies$
begin
    if not exists (
        select 1 from pg_policies
        where schemaname = 'realtime' and tablename = 'messages' and policyname = 'matchmaker: a user receives on their own user channel'
    ) then
        create policy "matchmaker: a user receives on their own user channel"
            on realtime.messages
            as permissive
            for select
            to authenticated
            using (
                realtime.messages.extension = 'broadcast'
                and realtime.messages.topic = 'user:' || (select auth.jwt() ->> 'sub')
            );
    end if;

    if not exists (
        select 1 from pg_policies
        where schemaname = 'realtime' and tablename = 'messages' and policyname = 'matchmaker: only the service role sends on user channels'
    ) then
        create policy "matchmaker: only the service role sends on user channels"
            on realtime.messages
            as restrictive
            for insert
            to anon, authenticated
            with check (realtime.messages.topic not like 'user:%');
    end if;
end
$policies$;
