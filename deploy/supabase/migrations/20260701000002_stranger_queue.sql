-- The pgmq queue `stranger-queue` and its PostgREST exposure `pgmq_public`, for `service_role` only.
--
-- pgmq comes from `create extension pgmq` where the server offers it (every Supabase project). A
-- plain PostgreSQL without the extension must have the pgmq functions loaded beforehand (the tests
-- load a compatible stand-in). Applying this file twice is harmless.

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

create schema if not exists pgmq_public;

create or replace function pgmq_public.send(queue_name text, message jsonb, sleep_seconds integer default 0)
returns setof bigint
language plpgsql set search_path = '' as $$
begin
    return query select * from pgmq.send(queue_name, message, sleep_seconds);
end
$$;

create or replace function pgmq_public.send_batch(queue_name text, messages jsonb[], sleep_seconds integer default 0)
returns setof bigint
language plpgsql set search_path = '' as $$
begin
    return query select * from pgmq.send_batch(queue_name, messages, sleep_seconds);
end
$$;

-- `sleep_seconds` is the visibility timeout of the lease, not a wait for messages.
create or replace function pgmq_public.read(queue_name text, sleep_seconds integer, n integer)
returns setof pgmq.message_record
language plpgsql set search_path = '' as $$
begin
    return query select * from pgmq.read(queue_name, sleep_seconds, n);
end
$$;

create or replace function pgmq_public.pop(queue_name text)
returns setof pgmq.message_record
language plpgsql set search_path = '' as $$
begin
    return query select * from pgmq.pop(queue_name);
end
$$;

create or replace function pgmq_public.archive(queue_name text, message_id bigint)
returns boolean
language plpgsql set search_path = '' as $$
begin
    return pgmq.archive(queue_name, message_id);
end
$$;

create or replace function pgmq_public.delete(queue_name text, message_id bigint)
returns boolean
language plpgsql set search_path = '' as $$
begin
    return pgmq.delete(queue_name, message_id);
end
$$;

-- Only the service role reaches the queue: the wrappers run as the caller (security invoker), so it
-- needs the schemas, the functions and the queue tables.
revoke all on all functions in schema pgmq_public from public, anon, authenticated;
grant usage on schema pgmq_public, pgmq to service_role;
grant execute on all functions in schema pgmq_public to service_role;
grant execute on all functions in schema pgmq to service_role;
grant select, insert, update, delete on all tables in schema pgmq to service_role;
grant usage, select, update on all sequences in schema pgmq to service_role;
-- Queues created later by the same owner are reachable by the service role too.
alter default privileges in schema pgmq grant select, insert, update, delete on tables to service_role;
alter default privileges in schema pgmq grant usage, select, update on sequences to service_role;
