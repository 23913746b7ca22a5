-- Just enough of pg_cron, pg_net and Vault to run deploy/supabase/cron.sql on plain PostgreSQL.
-- Nothing is scheduled or sent: `cron.schedule` stores the job in `cron.job` as pg_cron does, and
-- `net.http_post` (pg_net's signature and defaults) records what it was asked to send in `net.sent`.
-- Vault's `decrypted_secrets` is an empty table the test fills. The test loads this file in a
-- transaction that it rolls back, and runs cron.sql without its `create extension` lines, which need
-- the real extensions.

create schema cron;
create table cron.job (jobid bigserial primary key, jobname text unique, schedule text, command text);
create function cron.schedule(job_name text, schedule text, command text) returns bigint
language sql as $$
    insert into cron.job (jobname, schedule, command) values (job_name, schedule, command)
    on conflict (jobname) do update set schedule = excluded.schedule, command = excluded.command
    returning jobid
$$;

create schema net;
create table net.sent (id bigserial primary key, url text, body jsonb, params jsonb, headers jsonb, timeout_milliseconds integer);
create function net.http_post(url text, body jsonb default '{}', params jsonb default '{}',
    headers jsonb default '{"Content-Type":"application/json"}', timeout_milliseconds integer default 5000)
returns bigint language sql as $$
    insert into net.sent (url, body, params, headers, timeout_milliseconds)
    values (url, body, params, headers, timeout_milliseconds)
    returning id
$$;

create schema vault;
create table vault.decrypted_secrets (name text primary key, decrypted_secret text);
