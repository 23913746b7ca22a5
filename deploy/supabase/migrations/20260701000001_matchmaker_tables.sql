-- The tables the matchmaker and its bots use, compatible with the app's schema (drizzle 0000–0006).
--
-- On a Supabase project that already runs the app, every table and role exists: this file then only
-- adds what is missing (columns, indexes, grants to the service role) and changes nothing the app
-- owns. On plain PostgreSQL it creates the slice from scratch as the app's migrations define it,
-- including Supabase's API roles. Applying it twice is harmless.

-- Supabase's API roles, where they are missing (plain PostgreSQL). As on Supabase, the service role
-- bypasses row-level security; creating it so needs a superuser, which a bare server's owner is.
do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'anon') then
        create role anon nologin noinherit;
    end if;
    if not exists (select 1 from pg_roles where rolname = 'authenticated') then
        create role authenticated nologin noinherit;
    end if;
    if not exists (select 1 from pg_roles where rolname = 'service_role') then
        create role service_role nologin noinherit bypassrls;
    end if;
end
$$;

-- better-auth's user with the bot columns of 0006. As in the app, `email_verified`, `created_at` and
-- `updated_at` have no default (drizzle fills them on the client side): every writer sends them.
create table if not exists public."user" (
    id text primary key,
    name text not null,
    email text not null constraint user_email_unique unique,
    email_verified boolean not null,
    image text,
    created_at timestamp not null,
    updated_at timestamp not null
);
alter table public."user" add column if not exists is_anonymous boolean;
alter table public."user" add column if not exists is_bot boolean;
alter table public."user" add column if not exists bot_profile text;
alter table public."user" add column if not exists last_active timestamp;

create table if not exists public.room (
    id varchar(24) primary key,
    name text not null,
    "isDM" boolean not null default false,
    owner_id text not null references public."user" (id),
    created_at timestamptz not null default now()
);
alter table public.room add column if not exists is_locked boolean not null default false;
create index if not exists room_owner_idx on public.room (owner_id);

create table if not exists public.room_member (
    room_id varchar(24) not null references public.room (id) on delete cascade,
    user_id text not null references public."user" (id),
    joined_at timestamptz not null default now(),
    primary key (room_id, user_id)
);
alter table public.room_member add column if not exists last_read_at timestamptz not null default now();
-- "Which rooms is this user in": the accounting queries and the app's room list.
create index if not exists room_member_user_idx on public.room_member (user_id);

create table if not exists public.message (
    id varchar(24) primary key,
    room_id varchar(24) not null references public.room (id) on delete cascade,
    sender_id text not null references public."user" (id),
    content text not null,
    created_at timestamptz not null default now()
);
create index if not exists message_room_idx on public.message (room_id, created_at);

create table if not exists public.skipped_pair (
    user_a_id text not null references public."user" (id) on delete cascade,
    user_b_id text not null references public."user" (id) on delete cascade,
    created_at timestamptz not null default now(),
    primary key (user_a_id, user_b_id)
);
create index if not exists skipped_pair_created_at_idx on public.skipped_pair (created_at);
-- A pass asks for skips where either side is one of its leased users: the primary key serves
-- `user_a_id = any(...)`, this index serves `user_b_id = any(...)`.
create index if not exists skipped_pair_user_b_idx on public.skipped_pair (user_b_id, created_at);

create table if not exists public.bot_analytics (
    id varchar(24) primary key,
    bot_id text not null references public."user" (id),
    conversation_id varchar(24) not null references public.room (id),
    messages_exchanged integer not null,
    conversation_duration integer not null,
    human_skipped boolean not null,
    bot_skipped boolean not null,
    created_at timestamptz not null default now()
);
create index if not exists bot_analytics_bot_idx on public.bot_analytics (bot_id);
create index if not exists bot_analytics_created_at_idx on public.bot_analytics (created_at);
-- The bot lookup of a pass: `id = any(...) and is_bot`.
create index if not exists user_bot_idx on public."user" (id) where is_bot;

grant usage on schema public to service_role;
grant select, insert, update, delete on public."user", public.room, public.room_member, public.message,
    public.skipped_pair, public.bot_analytics to service_role;
