-- Claims committed matches whose pass stopped before both users were told (a crash, a lost
-- connection): rows of `matchmaker_outbox` whose claim ran out, oldest first, at most `max_rows`.
-- Each claimed row belongs to the caller for `claim_seconds` and counts one more attempt;
-- `for update skip locked` keeps concurrent relays (several processes) off each other's rows.
-- The relay then tells both users and calls `ack_stranger_match`, or undoes the match with
-- `delete_stranger_room` after its last attempt.
--
-- A row older than `max_age_seconds` (10 minutes) is past telling anyone: its users have long moved
-- on, and announcing the room now would pull them out of whatever they are doing. It is dropped
-- unclaimed, leaving the room as it is.
create or replace function public.claim_stranger_matches(
    claim_seconds integer default 30, max_rows integer default 100, max_age_seconds integer default 600
)
returns table (room_id varchar, room jsonb, users text[], attempts integer)
language sql set search_path = '' as $$
    with too_old as (
        delete from public.matchmaker_outbox s
        where s.claimed_until < now() and s.created_at < now() - make_interval(secs => max_age_seconds)
    )
    update public.matchmaker_outbox o
    set claimed_until = now() + make_interval(secs => claim_seconds), attempts = o.attempts + 1
    where o.room_id in (
        select p.room_id from public.matchmaker_outbox p
        where p.claimed_until < now() and p.created_at >= now() - make_interval(secs => max_age_seconds)
        order by p.created_at
        limit max_rows
        for update skip locked
    )
    returning o.room_id, o.room, o.users, o.attempts
$$;

revoke all on function public.claim_stranger_matches(integer, integer, integer) from public, anon, authenticated;
grant execute on function public.claim_stranger_matches(integer, integer, integer) to service_role;
