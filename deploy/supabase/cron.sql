-- Runs the matchmaker every 10 seconds from the database, as Supabase documents for Edge Functions:
-- pg_cron schedules a job that calls the function endpoint through pg_net.
--
-- Before running this file, store the endpoint's base URL and a key in Vault, once:
--   select vault.create_secret('https://<project-ref>.supabase.co', 'project_url');
--   select vault.create_secret('<key>', 'matchmaker_key');
-- The key is either a legacy JWT key (anon or service_role), sent as `Authorization: Bearer`, or a new
-- API key (`sb_secret_…` or `sb_publishable_…`), which is not a JWT and is sent in the `apikey` header
-- only. A self-hosted `matchmaker serve` accepts both (docs/contract.md §6); a Supabase-hosted Edge
-- Function with `verify_jwt` on accepts only the JWT keys.
-- For a self-hosted `matchmaker serve`, `project_url` is its base URL (the path below is the same).
-- `cron.schedule` with an existing job name updates that job, so running this file twice is harmless.
-- Second-based schedules need pg_cron 1.5 or later.

create extension if not exists pg_cron;
create extension if not exists pg_net;

select cron.schedule(
    'stranger-matchmaker-every-10s',
    '10 seconds',
    $job$
    select net.http_post(
        url := (select decrypted_secret from vault.decrypted_secrets where name = 'project_url')
            || '/functions/v1/stranger-matchmaker',
        headers := (
            select jsonb_build_object('Content-Type', 'application/json')
                || case when starts_with(decrypted_secret, 'sb_')
                    then jsonb_build_object('apikey', decrypted_secret)
                    else jsonb_build_object('Authorization', 'Bearer ' || decrypted_secret)
                end
            from vault.decrypted_secrets where name = 'matchmaker_key'
        ),
        body := jsonb_build_object('time', now()),
        timeout_milliseconds := 8000
    ) as request_id;
    $job$
);

-- To stop it: select cron.unschedule('stranger-matchmaker-every-10s');
