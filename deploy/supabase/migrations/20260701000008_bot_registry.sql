-- The bot registry: bots leave the queue, and a pass claims an idle bot for a lone human atomically
-- with the room (issue 14; contract, "RPCs added by our migrations").
--
-- Before, every bot queued a message and held a lobby presence of its own: a thousand bots meant a
-- thousand sockets and presence fan-out, and a pass that leased the oldest messages read only bots
-- while the humans behind them starved. Now a `matchmaker bots` process leases bot identities in
-- `matchmaker_bot` and marks the ones ready to chat `idle`; the matchmaker asks `idle_bots` for
-- candidates and pairs a human who waited BOT_FILL_AFTER with one of them through
-- `commit_stranger_matches`, which claims the bot in the same transaction as the room.
--
--   lease_bots(owner, bot_ids, lease_seconds): the process `owner` holds exactly `bot_ids` (renewing its
--       own leases, taking over expired ones, releasing what it left out; '{}' releases all, as at
--       shutdown) and gets back every row it holds. A row another owner holds with a live lease is left
--       alone: two processes never hold one identity, however their calls interleave (the insert's
--       conflict check locks the row and re-reads it).
--   ready_bots(owner, bot_ids, stale_claim_seconds, finished_room): `owner`'s bots among `bot_ids`,
--       with a live lease, become idle (ready to be claimed) again, if they are still in
--       `finished_room` (the room the bot just left; null for a bot that has been in none): a retried
--       call whose first attempt went through can then never undo a claim made in between. With
--       `stale_claim_seconds`, instead, only those claimed longer ago than that and not idle (a claim
--       whose `stranger_matched` never reached the bot).
--   idle_bots(max_rows): up to `max_rows` idle bots with a live lease, in random order, so that
--       concurrent matchmakers seldom reach for the same one.
--   commit_stranger_matches: as in 20260701000006, and a user with a registry row is a registered bot:
--       it needs no leased message (MM001 applies to the others only), it must be idle with a live lease
--       (else the new verdict MM004, checked right after MM001), and each committed match claims its
--       registered bots (`idle = false`, `room_id`, `claimed_at`). The registry rows are locked after
--       the messages, in bot_id order. A registered bot with queue messages of its own (the app's skip
--       enqueues a bot again) has them consumed as any user's.
--
-- A crashed bots process stops renewing: when its leases end, `idle_bots` no longer offers its bots
-- and a commit refuses them (MM004), and another process may take the identities over.
--
-- The registry is the matchmaker's and the bots' alone: row-level security with no policy, and no
-- grant to `anon` or `authenticated` (as `matchmaker_outbox`). `bot_id` has no foreign key to
-- `user`: the lease comes before the bot writes its user row. Applying this file twice is harmless.

create table if not exists public.matchmaker_bot (
    bot_id text primary key,
    owner text not null,
    lease_until timestamptz not null,
    idle boolean not null default false,
    room_id varchar(24),
    claimed_at timestamptz
);
comment on table public.matchmaker_bot is
    'Bot identities leased by `matchmaker bots` processes; `idle` bots may be claimed by a pass for a lone human.';
create index if not exists matchmaker_bot_idle_idx on public.matchmaker_bot (lease_until) where idle;
alter table public.matchmaker_bot enable row level security;
revoke all on public.matchmaker_bot from public, anon, authenticated;

-- Leases exactly `bot_ids` to `owner` (see above) and returns every row `owner` holds. The rows are
-- touched in bot_id order, as a commit locks them, so that the two never wait on each other in a cycle.
create or replace function public.lease_bots(owner text, bot_ids text[], lease_seconds integer)
returns table (bot_id text, idle boolean, room_id varchar, claimed_at timestamptz)
language sql set search_path = '' as $$
    with released as (
        select b.bot_id from public.matchmaker_bot b
        where b.owner = lease_bots.owner and b.bot_id <> all(coalesce(lease_bots.bot_ids, '{}'))
        order by b.bot_id for update
    )
    delete from public.matchmaker_bot b using released where b.bot_id = released.bot_id;

    insert into public.matchmaker_bot as b (bot_id, owner, lease_until, idle)
    select wanted.id, lease_bots.owner, now() + make_interval(secs => lease_bots.lease_seconds), false
    from (select distinct id from unnest(coalesce(lease_bots.bot_ids, '{}')) id where id is not null) wanted
    order by wanted.id
    on conflict on constraint matchmaker_bot_pkey do update
    set owner = excluded.owner,
        lease_until = excluded.lease_until,
        idle = case when b.owner = excluded.owner then b.idle else false end,
        room_id = case when b.owner = excluded.owner then b.room_id end,
        claimed_at = case when b.owner = excluded.owner then b.claimed_at end
    where b.owner = excluded.owner or b.lease_until < now();

    select b.bot_id, b.idle, b.room_id, b.claimed_at from public.matchmaker_bot b
    where b.owner = lease_bots.owner
    order by b.bot_id;
$$;

-- Makes `owner`'s bots among `bot_ids` idle again (live leases only); with `stale_claim_seconds`, only
-- the ones claimed longer ago than that and still not idle. Returns how many rows changed.
create or replace function public.ready_bots(
    owner text, bot_ids text[], stale_claim_seconds integer default null, finished_room varchar default null
)
returns integer
language sql set search_path = '' as $$
    with target as (
        select b.bot_id from public.matchmaker_bot b
        where b.owner = ready_bots.owner and b.bot_id = any(ready_bots.bot_ids) and b.lease_until > now()
          and not b.idle
          and case
              when ready_bots.stale_claim_seconds is null then b.room_id is not distinct from ready_bots.finished_room
              else b.claimed_at < now() - make_interval(secs => ready_bots.stale_claim_seconds)
          end
        order by b.bot_id for update
    ), changed as (
        update public.matchmaker_bot b set idle = true, room_id = null, claimed_at = null
        from target where b.bot_id = target.bot_id
        returning 1
    )
    select count(*)::integer from changed
$$;

-- Up to `max_rows` bots ready to be claimed (idle, with a live lease), in random order.
create or replace function public.idle_bots(max_rows integer default 100)
returns setof text
language sql set search_path = '' as $$
    select b.bot_id from public.matchmaker_bot b
    where b.idle and b.lease_until > now()
    order by random()
    limit idle_bots.max_rows
$$;

-- `commit_stranger_matches` of 20260701000006 with the registered bots (see above); same signature and
-- answer, so that a matchmaker of the previous release keeps working against it.
create or replace function public.commit_stranger_matches(
    queue_name text, matches jsonb, claim_seconds integer default 30, skip_window_seconds integer default 10,
    notify boolean default false, notify_private boolean default false
)
returns table (room_id varchar, status text, room jsonb)
-- A queue bulk-loaded a moment ago has no statistics yet, and `= any(<100 user ids>)` then looks like
-- half the table to the planner, which would scan every message twice per call. The primary key and
-- the `userId` expression index answer both look-ups; within this function, sequential scans are
-- left as the planner's last resort (a queue without the expression index still works).
language plpgsql set search_path = '' set enable_seqscan = off as $$
declare
    queue_table text := 'q_' || lower(queue_name);
    all_ids bigint[];
    all_users text[];
    present jsonb;
    registered jsonb;
    verdicts jsonb;
    ok_ids bigint[];
    ok_users text[];
    consumed jsonb;
    committed jsonb;
begin
    select coalesce(array_agg(distinct ids.id_text::bigint), '{}') into all_ids
    from jsonb_array_elements(coalesce(matches, '[]')) m cross join lateral jsonb_array_elements_text(m -> 'msg_ids') ids(id_text);
    select coalesce(array_agg(distinct u), '{}') into all_users
    from jsonb_array_elements(coalesce(matches, '[]')) m cross join lateral unnest(array[m ->> 'user1', m ->> 'user2']) u
    where u is not null;

    -- Lock what the batch may consume, in msg_id order; rows consumed by a concurrent call are skipped
    -- once it commits, so what remains is what this call may still take.
    execute format(
        'select coalesce(jsonb_agg(jsonb_build_object(''msg_id'', l.msg_id, ''user_id'', l.user_id)), ''[]''::jsonb)
         from (select q.msg_id, q.message ->> ''userId'' as user_id from pgmq.%I q
               where q.msg_id = any($1) or (q.message ->> ''userId'') = any($2)
               order by q.msg_id for update) l',
        queue_table)
        into present
        using all_ids, all_users;

    -- Then the registry rows of the batch's users, in bot_id order: a concurrent call that claimed one of
    -- these bots has committed when the lock is granted, and the row read here is the claimed one.
    select coalesce(jsonb_agg(jsonb_build_object('bot_id', r.bot_id, 'ready', r.idle and r.lease_until > now())), '[]'::jsonb)
    into registered
    from (select b.bot_id, b.idle, b.lease_until from public.matchmaker_bot b
          where b.bot_id = any(all_users) order by b.bot_id for update) r;

    with pairs as (
        select (m.ordinality)::int as i, m.value ->> 'room_id' as room_id, m.value ->> 'user1' as user1,
               m.value ->> 'user2' as user2,
               array(select jsonb_array_elements_text(m.value -> 'msg_ids')::bigint) as msg_ids
        from jsonb_array_elements(coalesce(matches, '[]')) with ordinality m(value, ordinality)
    ), seen as materialized (
        select u, count(*) as n from pairs cross join unnest(array[pairs.user1, pairs.user2]) u group by u
    ), locked as (
        select (e ->> 'msg_id')::bigint as msg_id, e ->> 'user_id' as user_id from jsonb_array_elements(present) e
    ), bots as (
        select e ->> 'bot_id' as bot_id, (e ->> 'ready')::boolean as ready from jsonb_array_elements(registered) e
    )
    select jsonb_agg(jsonb_build_object('i', p.i, 'room_id', p.room_id, 'user1', p.user1, 'user2', p.user2,
            'msg_ids', to_jsonb(p.msg_ids), 'status',
            case
                when p.user1 = p.user2 or p.user1 is null or p.user2 is null or p.room_id is null
                    or exists (select 1 from seen where seen.u in (p.user1, p.user2) and seen.n > 1) then 'MM003'
                when exists (
                    select 1 from public.skipped_pair s
                    where ((s.user_a_id = p.user1 and s.user_b_id = p.user2) or (s.user_a_id = p.user2 and s.user_b_id = p.user1))
                      and s.created_at >= now() - make_interval(secs => skip_window_seconds)
                ) then 'MM002'
                when (not exists (select 1 from bots b where b.bot_id = p.user1)
                        and not exists (select 1 from locked l where l.msg_id = any(p.msg_ids) and l.user_id = p.user1))
                    or (not exists (select 1 from bots b where b.bot_id = p.user2)
                        and not exists (select 1 from locked l where l.msg_id = any(p.msg_ids) and l.user_id = p.user2)) then 'MM001'
                when exists (select 1 from bots b where b.bot_id in (p.user1, p.user2) and not b.ready) then 'MM004'
                when (select count(*) from public."user" u where u.id in (p.user1, p.user2)) < 2 then '23503'
                when exists (select 1 from public.room r where r.id = p.room_id) then '23505'
                else 'ok'
            end) order by p.i)
    into verdicts
    from pairs p;
    verdicts := coalesce(verdicts, '[]');

    select coalesce(array_agg(distinct ids.id_text::bigint), '{}') into ok_ids
    from jsonb_array_elements(verdicts) v cross join lateral jsonb_array_elements_text(v -> 'msg_ids') ids(id_text)
    where v ->> 'status' = 'ok';
    select coalesce(array_agg(distinct u), '{}') into ok_users
    from jsonb_array_elements(verdicts) v cross join lateral unnest(array[v ->> 'user1', v ->> 'user2']) u
    where v ->> 'status' = 'ok';

    execute format(
        'with gone as (
            delete from pgmq.%I q
            where q.msg_id = any($1) or (q.message ->> ''userId'') = any($2)
            returning q.msg_id, q.read_ct, q.enqueued_at, q.message, q.msg_id = any($1) as leased
        )
        select coalesce(jsonb_agg(to_jsonb(gone) order by gone.msg_id), ''[]''::jsonb) from gone',
        queue_table)
        into consumed
        using ok_ids, ok_users;

    -- The committed matches: rooms and members written in one statement, as `create_stranger_room` does.
    with ok as (
        select v ->> 'room_id' as room_id, v ->> 'user1' as user1, v ->> 'user2' as user2,
               coalesce((m ->> 'created_at')::timestamptz, now()) as created_at,
               coalesce(m -> 'notifications', '[]'::jsonb) as notifications,
               (select coalesce(jsonb_agg(c order by (c ->> 'msg_id')::bigint), '[]'::jsonb)
                from jsonb_array_elements(consumed) c
                where c -> 'message' ->> 'userId' in (v ->> 'user1', v ->> 'user2')) as messages
        from jsonb_array_elements(verdicts) v
        join jsonb_array_elements(matches) with ordinality mm(m, i) on mm.i = (v ->> 'i')::int
        where v ->> 'status' = 'ok'
    ), new_rooms as (
        insert into public.room (id, name, "isDM", is_locked, owner_id, created_at)
        select ok.room_id, ok.user1 || '-' || ok.user2, true, false, ok.user1, ok.created_at from ok
        returning id, name, "isDM", is_locked, owner_id, created_at
    ), new_members as (
        insert into public.room_member (room_id, user_id)
        select ok.room_id, member from ok cross join unnest(array[ok.user1, ok.user2]) member
    )
    select coalesce(jsonb_agg(jsonb_build_object(
            'room_id', ok.room_id, 'room', to_jsonb(n), 'users', jsonb_build_array(ok.user1, ok.user2),
            'messages', ok.messages, 'notifications', ok.notifications)), '[]'::jsonb)
    into committed
    from ok join new_rooms n on n.id = ok.room_id;

    -- The committed matches' registered bots are claimed for their rooms (their rows are locked above).
    update public.matchmaker_bot b
    set idle = false, room_id = c ->> 'room_id', claimed_at = now()
    from jsonb_array_elements(committed) c cross join lateral jsonb_array_elements_text(c -> 'users') member(user_id)
    where b.bot_id = member.user_id;

    if notify then
        perform realtime.send(n -> 'payload', n ->> 'event', n ->> 'topic', notify_private)
        from jsonb_array_elements(committed) c cross join jsonb_array_elements(c -> 'notifications') n;
    else
        insert into public.matchmaker_outbox (room_id, queue_name, room, users, messages, claimed_until)
        select c ->> 'room_id', commit_stranger_matches.queue_name, c -> 'room',
               array[c -> 'users' ->> 0, c -> 'users' ->> 1], c -> 'messages', now() + make_interval(secs => claim_seconds)
        from jsonb_array_elements(committed) c;
    end if;

    return query
    select (v ->> 'room_id')::varchar, v ->> 'status', c -> 'room'
    from jsonb_array_elements(verdicts) v
    left join jsonb_array_elements(committed) c on c ->> 'room_id' = v ->> 'room_id' and v ->> 'status' = 'ok'
    order by (v ->> 'i')::int;
end
$$;

grant select, insert, update, delete on public.matchmaker_bot to service_role;
revoke all on function public.lease_bots(text, text[], integer) from public, anon, authenticated;
revoke all on function public.ready_bots(text, text[], integer, varchar) from public, anon, authenticated;
revoke all on function public.idle_bots(integer) from public, anon, authenticated;
revoke all on function public.commit_stranger_matches(text, jsonb, integer, integer, boolean, boolean)
    from public, anon, authenticated;
grant execute on function public.lease_bots(text, text[], integer) to service_role;
grant execute on function public.ready_bots(text, text[], integer, varchar) to service_role;
grant execute on function public.idle_bots(integer) to service_role;
grant execute on function public.commit_stranger_matches(text, jsonb, integer, integer, boolean, boolean) to service_role;
