-- Just enough of pg_cron, pg_net and Vault to run deploy/supabase/cron.sql on plain PostgreSQL,
-- for a syntax and shape check only: nothing is scheduled or sent. The test loads it in a
-- transaction that it rolls back, and runs cron.sql without its `create extension` lines, which
-- need the real extensions.

create schema cron;
create table cron.job (jobid bigserial primary key, jobname text unique, schedule text, command text);
create function cron.schedule(job_name text, schedule text, command text) returns bigint
language sql as $$
    insert into cron.job (jobname, schedule, command) values (job_name, schedule, command)
    on conflict (jobname) do update set schedule = excluded.schedule, command = excluded.command
    returning jobid
$$;

create schema net;
create function net.http_post(url text, body jsonb default '{}', params jsonb default '{}',
    headers jsonb default '{"Content-Type":"application/json"}', timeout_milliseconds integer default 5000)
returns bigint language sql as $$ select 1::bigint $$;

create schema vault;
create table vault.decrypted_secrets (name text primary key, decrypted_secret text);
insert into vault.decrypted_secrets values ('project_url', 'http://127.0.0.1:8080'), ('matchmaker_key', 'test-key');
