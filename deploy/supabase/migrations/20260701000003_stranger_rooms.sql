-- The room RPCs and the notification outbox of a match.
--
-- `create_stranger_room` writes a room and its two members in one statement. `commit_stranger_match`
-- does that and, in the same transaction, consumes both users' queue messages and records the
-- pending `stranger_matched` notifications in `matchmaker_outbox`: after it commits, each user is in
-- a room they will be told about (or the match is undone and they are queued again). Only the
-- service role (and the owner) may call these functions or touch the outbox: Supabase's default
-- privileges grant new functions in `public` to `anon` and `authenticated`, so every function here
-- is revoked from them right after it is created (our own objects; nothing of the app's is touched).
-- Applying this file twice is harmless.

create table if not exists public.matchmaker_outbox (
    room_id varchar(24) primary key references public.room (id) on delete cascade,
    queue_name text not null,
    room jsonb not null,
    users text[] not null,
    messages jsonb not null,
    attempts integer not null default 0,
    claimed_until timestamptz not null,
    created_at timestamptz not null default now()
);
comment on table public.matchmaker_outbox is
    'Rooms whose users are not yet known to be told; `messages` are the consumed queue rows, restored on undo.';
create index if not exists matchmaker_outbox_claim_idx on public.matchmaker_outbox (claimed_until);
-- The outbox is the matchmaker's alone, yet it sits in `public`, which PostgREST exposes and where
-- Supabase grants every new table to `anon` and `authenticated` by default. Row-level security with
-- no policy keeps their rows hidden even if a grant comes back; the revoke (of our own table's
-- grants) makes a browser's read fail outright. The service role bypasses row-level security, and
-- the table's owner (the direct `postgres` backend) is not subject to it.
alter table public.matchmaker_outbox enable row level security;
revoke all on public.matchmaker_outbox from public, anon, authenticated;

-- The room row and both members, all or nothing; returns the row as PostgREST shows it.
create or replace function public.create_stranger_room(
    room_id varchar, user1 text, user2 text, created_at timestamptz default now()
)
returns jsonb
language sql set search_path = '' as $$
    with new_room as (
        insert into public.room (id, name, "isDM", is_locked, owner_id, created_at)
        values (
            create_stranger_room.room_id, create_stranger_room.user1 || '-' || create_stranger_room.user2,
            true, false, create_stranger_room.user1, create_stranger_room.created_at
        )
        returning id, name, "isDM", is_locked, owner_id, created_at
    ), new_members as (
        insert into public.room_member (room_id, user_id)
        select new_room.id, member
        from new_room cross join unnest(array[create_stranger_room.user1, create_stranger_room.user2]) as member
    )
    select to_jsonb(new_room) from new_room
$$;

-- Commits a match: consumes the leased messages `msg_ids` and every other message of both users,
-- writes the room and members, and records the pending notifications, in one transaction.
-- Raises SQLSTATE MM001 when either user has no leased message left (another matcher won, or the
-- lease ended and the message was taken), MM002 when the pair skipped each other within the window.
create or replace function public.commit_stranger_match(
    queue_name text, room_id varchar, user1 text, user2 text, msg_ids bigint[],
    claim_seconds integer default 30, skip_window_seconds integer default 10, created_at timestamptz default now()
)
returns jsonb
language plpgsql set search_path = '' as $$
declare
    consumed jsonb;
    new_room jsonb;
begin
    if user1 = user2 then
        raise exception 'a user cannot be matched with themselves' using errcode = 'MM003';
    end if;
    if exists (
        select 1 from public.skipped_pair s
        where ((s.user_a_id = user1 and s.user_b_id = user2) or (s.user_a_id = user2 and s.user_b_id = user1))
          and s.created_at >= now() - make_interval(secs => skip_window_seconds)
    ) then
        raise exception 'the pair skipped each other recently' using errcode = 'MM002';
    end if;

    execute format(
        'with gone as (
            delete from pgmq.%I q
            where q.msg_id = any($1) or (q.message ->> ''userId'') in ($2, $3)
            returning q.msg_id, q.read_ct, q.enqueued_at, q.message, q.msg_id = any($1) as leased
        )
        select coalesce(jsonb_agg(to_jsonb(gone) order by gone.msg_id), ''[]''::jsonb) from gone',
        'q_' || lower(queue_name))
        into consumed
        using msg_ids, user1, user2;

    if not exists (
        select 1 from jsonb_array_elements(consumed) e where (e ->> 'leased')::boolean and e -> 'message' ->> 'userId' = user1
    ) or not exists (
        select 1 from jsonb_array_elements(consumed) e where (e ->> 'leased')::boolean and e -> 'message' ->> 'userId' = user2
    ) then
        raise exception 'lease lost: a user of the pair is no longer queued under this lease' using errcode = 'MM001';
    end if;

    new_room := public.create_stranger_room(room_id, user1, user2, created_at);
    insert into public.matchmaker_outbox (room_id, queue_name, room, users, messages, claimed_until)
    values (room_id, queue_name, new_room, array[user1, user2], consumed, now() + make_interval(secs => claim_seconds));
    return new_room;
end
$$;

-- Both users were told: the match needs no more delivery.
create or replace function public.ack_stranger_match(room_id varchar)
returns boolean
language sql set search_path = '' as $$
    with gone as (delete from public.matchmaker_outbox o where o.room_id = ack_stranger_match.room_id returning 1)
    select exists (select 1 from gone)
$$;

-- Undoes a room: deletes it with its members and, if its match is still pending, puts the consumed
-- queue messages back (same ids, ages and read counts, visible at once). True when the room existed.
create or replace function public.delete_stranger_room(room_id varchar)
returns boolean
language plpgsql set search_path = '' as $$
declare
    pending public.matchmaker_outbox;
    existed boolean;
begin
    delete from public.matchmaker_outbox o where o.room_id = delete_stranger_room.room_id returning * into pending;
    if pending.room_id is not null then
        execute format(
            'insert into pgmq.%I (msg_id, read_ct, enqueued_at, vt, message) overriding system value
             select (e ->> ''msg_id'')::bigint, (e ->> ''read_ct'')::integer, (e ->> ''enqueued_at'')::timestamptz,
                    clock_timestamp(), e -> ''message''
             from jsonb_array_elements($1) e
             on conflict (msg_id) do nothing',
            'q_' || lower(pending.queue_name))
            using pending.messages;
    end if;
    delete from public.room r where r.id = delete_stranger_room.room_id;
    existed := found;
    return existed;
end
$$;

revoke all on function public.create_stranger_room(varchar, text, text, timestamptz) from public, anon, authenticated;
revoke all on function public.commit_stranger_match(text, varchar, text, text, bigint[], integer, integer, timestamptz)
    from public, anon, authenticated;
revoke all on function public.ack_stranger_match(varchar) from public, anon, authenticated;
revoke all on function public.delete_stranger_room(varchar) from public, anon, authenticated;
grant execute on function public.create_stranger_room(varchar, text, text, timestamptz) to service_role;
grant execute on function public.commit_stranger_match(text, varchar, text, text, bigint[], integer, integer, timestamptz)
    to service_role;
grant execute on function public.ack_stranger_match(varchar) to service_role;
grant execute on function public.delete_stranger_room(varchar) to service_role;
grant select, insert, update, delete on public.matchmaker_outbox to service_role;
