-- Ends a pass's lease on the messages it kept (users it could not pair yet), so that the next pass,
-- in any process, sees them at once instead of when the lease ends (QUEUE_LEASE_SECONDS).
--
-- Only messages still leased until `leased_until` or earlier are touched: the latest `vt` the pass
-- was given by `pgmq_public.read`. A message whose lease had already ended and that another reader
-- leased again has a later `vt`, and keeps that reader's lease. Returns how many were released.
-- pgmq's own `set_vt` cannot express that condition, hence an update of the queue table.
create or replace function public.release_stranger_messages(queue_name text, msg_ids bigint[], leased_until timestamptz)
returns integer
language plpgsql set search_path = '' as $$
declare
    released integer;
begin
    execute format(
        'update pgmq.%I q set vt = clock_timestamp()
         where q.msg_id = any($1) and q.vt > clock_timestamp() and q.vt <= $2',
        'q_' || lower(queue_name))
        using msg_ids, leased_until;
    get diagnostics released = row_count;
    return released;
end
$$;

revoke all on function public.release_stranger_messages(text, bigint[], timestamptz) from public, anon, authenticated;
grant execute on function public.release_stranger_messages(text, bigint[], timestamptz) to service_role;
