-- Tells a listening matchmaker that someone was enqueued, so a pass starts within MATCH_DEBOUNCE rather
-- than at the next MATCH_INTERVAL (contract §6, "Triggers").
--
-- An AFTER INSERT trigger, once per statement, on the queue table of `stranger-queue` calls
-- `pg_notify('matchmaker_enqueue', <queue table name>)`. `serve` on the postgres backend LISTENs on that
-- channel over a connection of its own; a notification is only a hint (the schedule still runs), so one
-- lost while nobody listens costs at most one interval. PostgreSQL folds identical notifications of one
-- transaction into one, so a `send_batch` makes one. The notification is sent at commit.
--
-- Additive only (§6a): a function of our own, and a trigger created only where it is missing; nothing
-- of pgmq's, the app's or Supabase's is replaced or dropped. The function runs as whoever inserts
-- (`anon` through `pgmq_public.send`): it only calls `pg_notify`, which every role may. A trigger
-- function cannot be called directly, and browsers get no EXECUTE on it. Applying this file twice is
-- harmless.
create or replace function public.notify_stranger_enqueue()
returns trigger
language plpgsql set search_path = '' as $$
begin
    perform pg_catalog.pg_notify('matchmaker_enqueue', tg_table_name);
    return null;
end
$$;

revoke all on function public.notify_stranger_enqueue() from public, anon, authenticated;

do $$
begin
    if not exists (
        select 1 from pg_catalog.pg_trigger
        where tgname = 'matchmaker_enqueue_notify' and tgrelid = 'pgmq."q_stranger-queue"'::regclass
    ) then
        create trigger matchmaker_enqueue_notify
            after insert on pgmq."q_stranger-queue"
            for each statement execute function public.notify_stranger_enqueue();
    end if;
end
$$;
