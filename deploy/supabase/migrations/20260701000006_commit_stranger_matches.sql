-- Set-wise commit: all the matches of a pass in one call, each still all or nothing on its own.
--
-- `commit_stranger_matches(queue_name, matches, claim_seconds, skip_window_seconds, notify,
-- notify_private)` does for every match of `matches` what `commit_stranger_match` does for one (consume
-- the pair's leased messages and every other message of both users, write the room and both members,
-- record the pending notifications in `matchmaker_outbox`), in one transaction, and answers one row per
-- match with its verdict. A match that cannot commit is left out, and only it: the others commit.
--
--   matches: [{"room_id", "user1", "user2", "msg_ids": [bigint], "created_at",
--              "notifications": [{"topic", "event", "payload"}]}]
--   answer:  (room_id, status, room): status `ok`, or the SQLSTATE the single-match function raises:
--            MM003 a user matched with themselves, or a user in two matches of the call;
--            MM002 the pair skipped each other within `skip_window_seconds`;
--            MM001 a user of the pair has no leased message left (another matcher won, or the lease
--                  ended and the message was taken);
--            23503 a user has no row in `public."user"`;
--            23505 the room id is taken.
--
-- With `notify` true (the direct `postgres` backend without Realtime's REST API), each committed
-- match's `notifications` are stored through `realtime.send(payload, event, topic, notify_private)`
-- in the same transaction, which is how that backend tells users anyway: the match is then settled,
-- and no outbox row is written. Otherwise the outbox row waits for `ack_stranger_matches` (or
-- `delete_stranger_room`, the undo), as with the single-match function.
--
-- Concurrent calls stay apart as the single-match function's do: the leased messages and every
-- message of the batch's users are locked first, in `msg_id` order (so two calls never wait on each
-- other in a cycle), and a message another call consumed meanwhile is gone when its lock is granted.
-- `commit_stranger_match` stays for matchmakers of the previous release during a rolling upgrade.
-- Applying this file twice is harmless.

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

    with pairs as (
        select (m.ordinality)::int as i, m.value ->> 'room_id' as room_id, m.value ->> 'user1' as user1,
               m.value ->> 'user2' as user2,
               array(select jsonb_array_elements_text(m.value -> 'msg_ids')::bigint) as msg_ids
        from jsonb_array_elements(coalesce(matches, '[]')) with ordinality m(value, ordinality)
    ), seen as materialized (
        select u, count(*) as n from pairs cross join unnest(array[pairs.user1, pairs.user2]) u group by u
    ), locked as (
        select (e ->> 'msg_id')::bigint as msg_id, e ->> 'user_id' as user_id from jsonb_array_elements(present) e
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
                when not exists (select 1 from locked l where l.msg_id = any(p.msg_ids) and l.user_id = p.user1)
                    or not exists (select 1 from locked l where l.msg_id = any(p.msg_ids) and l.user_id = p.user2) then 'MM001'
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

-- Both users of each room were told: their matches need no more delivery. Returns how many were pending.
create or replace function public.ack_stranger_matches(room_ids varchar[])
returns integer
language sql set search_path = '' as $$
    with gone as (delete from public.matchmaker_outbox o where o.room_id = any(ack_stranger_matches.room_ids) returning 1)
    select count(*)::integer from gone
$$;

-- Deletes (or archives) a pass's dropped messages in one call: expired, stale, malformed or duplicate
-- ones. `pgmq_public.delete` and `archive` take one id each, which made a pass over PostgREST cost one
-- request per dropped message. Returns how many were found.
create or replace function public.drop_stranger_messages(queue_name text, msg_ids bigint[], archive boolean default false)
returns integer
language plpgsql set search_path = '' as $$
declare
    dropped integer;
begin
    if archive then
        select count(*) into dropped from pgmq.archive(drop_stranger_messages.queue_name, drop_stranger_messages.msg_ids);
    else
        select count(*) into dropped from pgmq.delete(drop_stranger_messages.queue_name, drop_stranger_messages.msg_ids);
    end if;
    return dropped;
end
$$;

revoke all on function public.commit_stranger_matches(text, jsonb, integer, integer, boolean, boolean)
    from public, anon, authenticated;
revoke all on function public.drop_stranger_messages(text, bigint[], boolean) from public, anon, authenticated;
grant execute on function public.drop_stranger_messages(text, bigint[], boolean) to service_role;
revoke all on function public.ack_stranger_matches(varchar[]) from public, anon, authenticated;
grant execute on function public.commit_stranger_matches(text, jsonb, integer, integer, boolean, boolean) to service_role;
grant execute on function public.ack_stranger_matches(varchar[]) to service_role;
