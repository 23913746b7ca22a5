-- The pgmq queue `stranger-queue`, its per-user index, and the service role's access to it.
--
-- Additive only (docs/contract.md §6a). On a live project the queue and Supabase's `pgmq_public`
-- wrappers already exist, granted to `anon`, `authenticated` and `service_role`, and the app server
-- enqueues through `pgmq_public.send` with the anon key. This file therefore creates the queue and
-- each wrapper only where it is missing, never replaces, drops or revokes anything, and only adds
-- grants for the service role. Closing the queue to browsers is a separate, opt-in step:
-- `deploy/supabase/hardening/close_queue_to_browsers.sql`.
--
-- pgmq comes from `create extension pgmq` where the server offers it (every Supabase project). A
-- plain PostgreSQL without the extension must have pgmq's SQL loaded beforehand (the tests load the
-- upstream SQL shipped in the `pgmq` Python package). Applying this file twice is harmless.

do $$
begin
    if exists (select 1 from pg_available_extensions where name = 'pgmq') then
        create extension if not exists pgmq;
    elsif to_regnamespace('pgmq') is null or to_regtype('pgmq.message_record') is null then
        raise exception 'pgmq is missing: install the pgmq extension (or load its SQL) before this migration';
    end if;
end
$$;

do $$
begin
    if to_regclass('pgmq."q_stranger-queue"') is null then
        perform pgmq.create('stranger-queue');
    end if;
end
$$;

-- pgmq does not keep one live message per user (skip flows enqueue twice). A match consumes every
-- message of its two users in one statement, found through this index.
create index if not exists "q_stranger-queue_user_idx" on pgmq."q_stranger-queue" ((message ->> 'userId'));

-- `pgmq_public`, where Supabase's "expose queues" switch has not created it (plain PostgreSQL). Each
-- wrapper is created only when no function with its name and arguments exists, with Supabase's
-- definition: a thin SECURITY INVOKER call of `pgmq.*`. The ones created here are executable by the
-- service role only; Supabase's own, where they exist, are left exactly as they are.
create schema if not exists pgmq_public;

do $migration$
declare
    wrapper record;
begin
    for wrapper in
        select * from (values
            ('pgmq_public.send(text, jsonb, integer)', $fn$
                create function pgmq_public.send(queue_name text, message jsonb, sleep_seconds integer default 0)
                returns setof bigint
                language plpgsql set search_path = '' as $body$
                begin
                    return query select * from pgmq.send(queue_name := queue_name, msg := message, delay := sleep_seconds);
                end;
                $body$ $fn$),
            ('pgmq_public.send_batch(text, jsonb[], integer)', $fn$
                create function pgmq_public.send_batch(queue_name text, messages jsonb[], sleep_seconds integer default 0)
                returns setof bigint
                language plpgsql set search_path = '' as $body$
                begin
                    return query select * from pgmq.send_batch(queue_name := queue_name, msgs := messages, delay := sleep_seconds);
                end;
                $body$ $fn$),
            -- `sleep_seconds` is the visibility timeout of the lease, not a wait for messages.
            ('pgmq_public.read(text, integer, integer)', $fn$
                create function pgmq_public.read(queue_name text, sleep_seconds integer, n integer)
                returns setof pgmq.message_record
                language plpgsql set search_path = '' as $body$
                begin
                    return query select * from pgmq.read(queue_name := queue_name, vt := sleep_seconds, qty := n);
                end;
                $body$ $fn$),
            ('pgmq_public.pop(text)', $fn$
                create function pgmq_public.pop(queue_name text)
                returns setof pgmq.message_record
                language plpgsql set search_path = '' as $body$
                begin
                    return query select * from pgmq.pop(queue_name := queue_name);
                end;
                $body$ $fn$),
            ('pgmq_public.archive(text, bigint)', $fn$
                create function pgmq_public.archive(queue_name text, message_id bigint)
                returns boolean
                language plpgsql set search_path = '' as $body$
                begin
                    return pgmq.archive(queue_name := queue_name, msg_id := message_id);
                end;
                $body$ $fn$),
            ('pgmq_public.delete(text, bigint)', $fn$
                create function pgmq_public.delete(queue_name text, message_id bigint)
                returns boolean
                language plpgsql set search_path = '' as $body$
                begin
                    return pgmq.delete(queue_name := queue_name, msg_id := message_id);
                end;
                $body$ $fn$)
        ) as wrappers (signature, definition)
    loop
        if to_regprocedure(wrapper.signature) is null then
            execute wrapper.definition;
            -- Ours, just created: closed to everyone but the service role.
            execute format('revoke all on function %s from public', wrapper.signature);
            execute format('grant execute on function %s to service_role', wrapper.signature);
        end if;
    end loop;
end
$migration$;

-- What the matchmaker needs as the service role (the `supabase` backend goes through PostgREST with
-- the service-role key): the wrappers, the pgmq functions and the queue tables, now and later.
-- Grants only add; whatever else a role may do stays as it was.
grant usage on schema pgmq_public, pgmq to service_role;
grant execute on all functions in schema pgmq_public to service_role;
grant execute on all functions in schema pgmq to service_role;
grant select, insert, update, delete on all tables in schema pgmq to service_role;
grant usage, select, update on all sequences in schema pgmq to service_role;
alter default privileges in schema pgmq grant select, insert, update, delete on tables to service_role;
alter default privileges in schema pgmq grant usage, select, update on sequences to service_role;
