-- A stand-in for Supabase Realtime's `realtime.send`, for tests only.
--
-- On Supabase, `realtime.send(payload, event, topic, private)` stores a broadcast in
-- `realtime.messages`, and Realtime fans it out to the topic's subscribers. Plain PostgreSQL has no
-- Realtime, so this keeps only the table: tests read it to see what was broadcast. Loading it twice
-- is harmless.

create schema if not exists realtime;

create table if not exists realtime.messages (
    id uuid primary key default gen_random_uuid(),
    topic text not null,
    extension text not null default 'broadcast',
    event text,
    payload jsonb,
    private boolean not null default true,
    inserted_at timestamptz not null default now()
);

create or replace function realtime.send(payload jsonb, event text, topic text, private boolean default true)
returns void
language plpgsql as $$
begin
    insert into realtime.messages (topic, event, payload, private)
    values (topic, event, payload, private);
end
$$;

-- As on Supabase: row-level security on, the API roles granted insert/select/update (the policies
-- decide), and `auth.jwt()` reading the claims Realtime and PostgREST set for the request.
alter table realtime.messages enable row level security;
grant usage on schema realtime to anon, authenticated, service_role;
grant select, insert, update on realtime.messages to anon, authenticated, service_role;

create schema if not exists auth;
grant usage on schema auth to anon, authenticated, service_role;
create or replace function auth.jwt() returns jsonb language sql stable as $$
    select coalesce(nullif(current_setting('request.jwt.claim', true), ''), nullif(current_setting('request.jwt.claims', true), ''))::jsonb
$$;
