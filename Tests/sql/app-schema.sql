-- The app's own database as a live Supabase project has it, for tests only: what our migrations
-- are applied on top of (docs/contract.md §6a, /work/shared/reference/app-schema.md).
--
-- Written from the facts of the app's drizzle migrations (0000–0006) and of Supabase's setup, not
-- copied from either. It holds:
--   1. Supabase's API roles `anon`, `authenticated`, `service_role` (the last bypasses row-level
--      security) and the default privileges Supabase gives them on `public`: every table, sequence
--      and function created there later (ours included) is granted to all three;
--   2. the app's tables the matchmaker and the bots touch, exactly: NOT NULL without defaults where
--      drizzle fills values on the client side, the unique email, foreign keys and cascades. The
--      constraint names follow drizzle-kit's (`user_email_unique`, `<table>_<column>_<ref>_<col>_fk`);
--   3. `pgmq_public`, the wrappers Supabase's "expose queues via PostgREST" switch creates: thin
--      SECURITY INVOKER functions over `pgmq.*`, executable by `anon`, `authenticated` and
--      `service_role`, with Supabase's grants on the `pgmq` schema;
--   4. the queue `stranger-queue` with the table grants a live project has: the app server
--      enqueues with the anon key, and nobody restricted `read`/`pop`/`delete`/`archive`.
--
-- pgmq itself (the upstream SQL, or the extension) must be loaded first. Load this file once, on a
-- fresh database: it is a fixture, not a migration.

-- 1. Roles and Supabase's default privileges ------------------------------------------------------

create role anon nologin noinherit;
create role authenticated nologin noinherit;
create role service_role nologin noinherit bypassrls;

grant usage on schema public to anon, authenticated, service_role;
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;

-- 2. The app's tables (drizzle 0000–0006) ----------------------------------------------------------

-- better-auth's user, with the columns 0006 added for bots. `email_verified`, `created_at` and
-- `updated_at` have no default: drizzle sends them, so every writer must.
create table public."user" (
    id text primary key,
    name text not null,
    email text not null,
    email_verified boolean not null,
    image text,
    bio text,
    role text default 'user',
    banned boolean,
    ban_reason text,
    ban_expires timestamp,
    is_anonymous boolean,
    created_at timestamp not null,
    updated_at timestamp not null,
    is_bot boolean,
    bot_profile text,
    last_active timestamp,
    constraint user_email_unique unique (email)
);

create table public.room (
    id varchar(24) primary key,
    name text not null,
    "isDM" boolean not null default false,
    owner_id text not null constraint room_owner_id_user_id_fk references public."user" (id),
    created_at timestamptz not null default now(),
    is_locked boolean not null default false
);

create table public.room_member (
    room_id varchar(24) constraint room_member_room_id_room_id_fk references public.room (id) on delete cascade,
    user_id text constraint room_member_user_id_user_id_fk references public."user" (id),
    joined_at timestamptz not null default now(),
    last_read_at timestamptz not null default now(),
    constraint room_member_room_id_user_id_pk primary key (room_id, user_id)
);

create table public.message (
    id varchar(24) primary key,
    room_id varchar(24) not null constraint message_room_id_room_id_fk references public.room (id) on delete cascade,
    sender_id text not null constraint message_sender_id_user_id_fk references public."user" (id),
    content text not null,
    created_at timestamptz not null default now()
);

create table public.skipped_pair (
    user_a_id text constraint skipped_pair_user_a_id_user_id_fk references public."user" (id) on delete cascade,
    user_b_id text constraint skipped_pair_user_b_id_user_id_fk references public."user" (id) on delete cascade,
    created_at timestamptz not null default now(),
    constraint skipped_pair_user_a_id_user_b_id_pk primary key (user_a_id, user_b_id)
);
create index skipped_pair_created_at_idx on public.skipped_pair (created_at);

-- Neither foreign key cascades: a room with analytics cannot be deleted before them.
create table public.bot_analytics (
    id varchar(24) primary key,
    bot_id text not null constraint bot_analytics_bot_id_user_id_fk references public."user" (id),
    conversation_id varchar(24) not null constraint bot_analytics_conversation_id_room_id_fk references public.room (id),
    messages_exchanged integer not null,
    conversation_duration integer not null,
    human_skipped boolean not null,
    bot_skipped boolean not null,
    created_at timestamptz not null default now()
);

-- 3. pgmq_public: Supabase's wrappers, as the "expose queues" switch creates them -------------------

-- Each runs as its caller (no SECURITY DEFINER): the caller's grants on the queue tables decide.
create schema pgmq_public;
grant usage on schema pgmq_public to anon, authenticated, service_role;

create function pgmq_public.pop(queue_name text)
returns setof pgmq.message_record
language plpgsql set search_path = '' as $$
begin
    return query select * from pgmq.pop(queue_name := queue_name);
end;
$$;

-- `sleep_seconds` is pgmq's `delay`.
create function pgmq_public.send(queue_name text, message jsonb, sleep_seconds integer default 0)
returns setof bigint
language plpgsql set search_path = '' as $$
begin
    return query select * from pgmq.send(queue_name := queue_name, msg := message, delay := sleep_seconds);
end;
$$;

create function pgmq_public.send_batch(queue_name text, messages jsonb[], sleep_seconds integer default 0)
returns setof bigint
language plpgsql set search_path = '' as $$
begin
    return query select * from pgmq.send_batch(queue_name := queue_name, msgs := messages, delay := sleep_seconds);
end;
$$;

create function pgmq_public.archive(queue_name text, message_id bigint)
returns boolean
language plpgsql set search_path = '' as $$
begin
    return pgmq.archive(queue_name := queue_name, msg_id := message_id);
end;
$$;

create function pgmq_public.delete(queue_name text, message_id bigint)
returns boolean
language plpgsql set search_path = '' as $$
begin
    return pgmq.delete(queue_name := queue_name, msg_id := message_id);
end;
$$;

-- `sleep_seconds` is the visibility timeout, not a wait.
create function pgmq_public.read(queue_name text, sleep_seconds integer, n integer)
returns setof pgmq.message_record
language plpgsql set search_path = '' as $$
begin
    return query select * from pgmq.read(queue_name := queue_name, vt := sleep_seconds, qty := n);
end;
$$;

grant execute on all functions in schema pgmq_public to anon, authenticated, service_role;
grant usage on schema pgmq to anon, authenticated, service_role;
-- The service role gets everything in `pgmq`, now and later.
grant all privileges on all tables in schema pgmq to service_role;
alter default privileges in schema pgmq grant all privileges on tables to service_role;
-- Supabase grants the queue sequences to every API role; table grants still decide who may insert.
grant usage, select, update on all sequences in schema pgmq to anon, authenticated, service_role;
alter default privileges in schema pgmq grant usage, select, update on sequences to anon, authenticated, service_role;

-- 4. The app's queue ----------------------------------------------------------------------------------

-- As created from the dashboard, with the API roles' table grants left at "everything": the app
-- server's anon-key enqueue needs insert (and select, for `returning msg_id`); read, pop, delete
-- and archive work for anon too, which `deploy/supabase/hardening/close_queue_to_browsers.sql`
-- closes on request.
select pgmq.create('stranger-queue');
grant select, insert, update, delete on pgmq."q_stranger-queue", pgmq."a_stranger-queue" to anon, authenticated;
