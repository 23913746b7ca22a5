-- A pgmq-compatible stand-in for plain PostgreSQL, for tests only.
--
-- Debian ships no pgmq extension, so the test server loads this file instead. It is written from
-- pgmq 1.5's documented behaviour (queue table `pgmq.q_<name>`, archive `pgmq.a_<name>`, names
-- lower-cased; `read` leases with a visibility timeout using FOR UPDATE SKIP LOCKED and bumps
-- `read_ct`; `delete`/`archive` of an unknown id return false). It covers the functions this project
-- calls; where a real pgmq is installed (`CREATE EXTENSION pgmq`) the migrations use that instead.
-- Loading it twice is harmless.

create schema if not exists pgmq;

do $$
begin
    if not exists (
        select 1 from pg_type t join pg_namespace n on n.oid = t.typnamespace
        where n.nspname = 'pgmq' and t.typname = 'message_record'
    ) then
        create type pgmq.message_record as (
            msg_id bigint,
            read_ct integer,
            enqueued_at timestamptz,
            vt timestamptz,
            message jsonb,
            headers jsonb
        );
    end if;
end
$$;

create table if not exists pgmq.meta (
    queue_name text primary key,
    is_partitioned boolean not null default false,
    is_unlogged boolean not null default false,
    created_at timestamptz not null default now()
);

-- The quoted identifier of a queue's table (`q`) or archive (`a`).
create or replace function pgmq._table(queue_name text, kind text) returns text
language plpgsql immutable as $$
begin
    if queue_name is null or queue_name = '' or length(queue_name) > 47 then
        raise exception 'queue name must be 1 to 47 characters: %', queue_name;
    end if;
    if queue_name ~ '[$;'']|--' then
        raise exception 'queue name contains invalid characters: %', queue_name;
    end if;
    return format('pgmq.%I', kind || '_' || lower(queue_name));
end
$$;

create or replace function pgmq.create(queue_name text) returns void
language plpgsql as $$
begin
    execute format(
        'create table if not exists %s (
            msg_id bigint primary key generated always as identity,
            read_ct integer not null default 0,
            enqueued_at timestamptz not null default now(),
            vt timestamptz not null,
            message jsonb,
            headers jsonb
        )', pgmq._table(queue_name, 'q'));
    execute format(
        'create table if not exists %s (
            msg_id bigint primary key,
            read_ct integer not null default 0,
            enqueued_at timestamptz not null default now(),
            archived_at timestamptz not null default now(),
            vt timestamptz not null,
            message jsonb,
            headers jsonb
        )', pgmq._table(queue_name, 'a'));
    execute format('create index if not exists %I on %s (vt asc)',
        'q_' || lower(queue_name) || '_vt_idx', pgmq._table(queue_name, 'q'));
    insert into pgmq.meta (queue_name) values (lower(queue_name)) on conflict do nothing;
end
$$;

create or replace function pgmq.drop_queue(queue_name text) returns boolean
language plpgsql as $$
begin
    execute format('drop table if exists %s', pgmq._table(queue_name, 'q'));
    execute format('drop table if exists %s', pgmq._table(queue_name, 'a'));
    delete from pgmq.meta m where m.queue_name = lower(drop_queue.queue_name);
    return found;
end
$$;

create or replace function pgmq.purge_queue(queue_name text) returns bigint
language plpgsql as $$
declare
    removed bigint;
begin
    execute format('with gone as (delete from %s returning 1) select count(*) from gone', pgmq._table(queue_name, 'q'))
        into removed;
    return removed;
end
$$;

create or replace function pgmq.list_queues() returns table (queue_name text, created_at timestamptz)
language sql stable as $$
    select m.queue_name, m.created_at from pgmq.meta m order by m.queue_name
$$;

create or replace function pgmq.send_batch(queue_name text, msgs jsonb[], delay integer default 0)
returns setof bigint
language plpgsql as $$
begin
    return query execute format(
        'insert into %s (vt, message)
         select clock_timestamp() + make_interval(secs => $2), m
         from unnest($1) with ordinality as t (m, ord)
         order by ord
         returning msg_id', pgmq._table(queue_name, 'q'))
        using msgs, greatest(delay, 0);
end
$$;

create or replace function pgmq.send_batch(queue_name text, msgs jsonb[], delay timestamptz)
returns setof bigint
language plpgsql as $$
begin
    return query execute format(
        'insert into %s (vt, message)
         select $2, m from unnest($1) with ordinality as t (m, ord) order by ord
         returning msg_id', pgmq._table(queue_name, 'q'))
        using msgs, delay;
end
$$;

create or replace function pgmq.send(queue_name text, msg jsonb, delay integer default 0)
returns setof bigint
language sql as $$
    select pgmq.send_batch(queue_name, array[msg], delay)
$$;

create or replace function pgmq.send(queue_name text, msg jsonb, delay timestamptz)
returns setof bigint
language sql as $$
    select pgmq.send_batch(queue_name, array[msg], delay)
$$;

-- Leases up to `qty` visible messages, oldest id first: they stay in the queue, hidden for `vt`
-- seconds, and their read count goes up by one. Rows locked by a concurrent reader are skipped, so
-- two readers never lease the same message.
create or replace function pgmq.read(queue_name text, vt integer, qty integer, conditional jsonb default '{}')
returns setof pgmq.message_record
language plpgsql as $$
begin
    return query execute format(
        'with picked as (
            select msg_id from %1$s
            where vt <= clock_timestamp() and ($3 = ''{}''::jsonb or message @> $3)
            order by msg_id
            limit $2
            for update skip locked
        )
        update %1$s q
        set vt = clock_timestamp() + make_interval(secs => $1), read_ct = q.read_ct + 1
        from picked
        where q.msg_id = picked.msg_id
        returning q.msg_id, q.read_ct, q.enqueued_at, q.vt, q.message, q.headers', pgmq._table(queue_name, 'q'))
        using vt, qty, coalesce(conditional, '{}'::jsonb);
end
$$;

-- Reads and deletes the first visible message.
create or replace function pgmq.pop(queue_name text)
returns setof pgmq.message_record
language plpgsql as $$
begin
    return query execute format(
        'with picked as (
            select msg_id from %1$s
            where vt <= clock_timestamp()
            order by msg_id
            limit 1
            for update skip locked
        )
        delete from %1$s q using picked
        where q.msg_id = picked.msg_id
        returning q.msg_id, q.read_ct, q.enqueued_at, q.vt, q.message, q.headers', pgmq._table(queue_name, 'q'));
end
$$;

create or replace function pgmq.set_vt(queue_name text, msg_id bigint, vt integer)
returns setof pgmq.message_record
language plpgsql as $$
begin
    return query execute format(
        'update %s q set vt = clock_timestamp() + make_interval(secs => $2)
         where q.msg_id = $1
         returning q.msg_id, q.read_ct, q.enqueued_at, q.vt, q.message, q.headers', pgmq._table(queue_name, 'q'))
        using msg_id, vt;
end
$$;

create or replace function pgmq.delete(queue_name text, msg_ids bigint[])
returns setof bigint
language plpgsql as $$
begin
    return query execute format('delete from %s where msg_id = any($1) returning msg_id', pgmq._table(queue_name, 'q'))
        using msg_ids;
end
$$;

create or replace function pgmq.delete(queue_name text, msg_id bigint)
returns boolean
language sql as $$
    select exists (select 1 from pgmq.delete(queue_name, array[msg_id]))
$$;

create or replace function pgmq.archive(queue_name text, msg_ids bigint[])
returns setof bigint
language plpgsql as $$
begin
    return query execute format(
        'with moved as (delete from %1$s where msg_id = any($1) returning *)
         insert into %2$s (msg_id, read_ct, enqueued_at, vt, message, headers)
         select msg_id, read_ct, enqueued_at, vt, message, headers from moved
         returning msg_id', pgmq._table(queue_name, 'q'), pgmq._table(queue_name, 'a'))
        using msg_ids;
end
$$;

create or replace function pgmq.archive(queue_name text, msg_id bigint)
returns boolean
language sql as $$
    select exists (select 1 from pgmq.archive(queue_name, array[msg_id]))
$$;
