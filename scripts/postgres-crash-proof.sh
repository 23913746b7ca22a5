#!/usr/bin/env bash
# Crash proof of the postgres backend: `matchmaker match` killed with SIGKILL at random points of
# its pass (5 ms to 5 + KILL_WINDOW_MS ms after its start, 150 by default), RUNS times (default 50),
# against one throwaway PostgreSQL; then clean passes until the queue and the outbox have settled;
# then every enqueued user must be accounted for.
#
#   swift build && scripts/postgres-crash-proof.sh [RUNS] [USERS]
#
# Accounted for: in exactly one room and told about it (a `stranger_matched` row for that room in
# realtime.messages, the stand-in of Realtime's broadcast table), or still queued, or told the
# queue expired (`stranger_no_matches`) with no message left. Also: no room with a recently skipped
# pair or two bots, and no match left in the outbox. Exit 1 on any violation.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -z "${DATABASE_URL:-}" ]]; then
    exec "$root/scripts/with-postgres.sh" "$0" "$@"
fi
runs="${1:-50}"
users="${2:-2000}"
binary="${MATCHMAKER_BIN:-$root/.build/debug/matchmaker}"
[[ -x "$binary" ]] || { echo "no $binary: run swift build first" >&2; exit 2; }
sql() { psql -q -X -At -v ON_ERROR_STOP=1 "$@"; }

sql <<SQL
insert into public."user" (id, name, email, email_verified, created_at, updated_at, is_bot)
select 'c' || i, 'c' || i, 'c' || i || '@test.invalid', false, now(), now(), i % 20 = 7 from generate_series(1, $users) i;
-- Every 25th user skipped the next one just now and both re-enqueued; 2 % enqueued twice.
insert into public.skipped_pair (user_a_id, user_b_id)
select 'c' || i, 'c' || (i + 1) from generate_series(1, $users - 1, 25) i
union all select 'c' || (i + 1), 'c' || i from generate_series(1, $users - 1, 25) i;
insert into pgmq."q_stranger-queue" (enqueued_at, vt, message)
select now() - make_interval(secs => random() * 6), now(),
       jsonb_build_object('userId', 'c' || i, 'continent', (array['World', 'Europe', 'Asia', 'World'])[1 + i % 4])
from generate_series(1, $users) i
union all select now(), now(), jsonb_build_object('userId', 'c' || i) from generate_series(1, $users - 1, 25) i
union all select now(), now(), jsonb_build_object('userId', 'c' || (i + 1)) from generate_series(1, $users - 1, 25) i
union all select now(), now(), jsonb_build_object('userId', 'c' || i) from generate_series(3, $users, 50) i;
SQL

export QUEUE_LEASE_SECONDS=2 BATCH_SIZE=100 QUEUE_TTL=15 LOG_LEVEL=critical
# Each kill lands 5 ms to 5 + KILL_WINDOW_MS ms after the start. On a loaded machine a process may need more than
# the default 150 ms to reach its first commit: widen the window so that kills land inside passes.
kill_window_ms="${KILL_WINDOW_MS:-150}"
killed=0 finished=0
for run in $(seq 1 "$runs"); do
    "$binary" match >/dev/null 2>&1 &
    pid=$!
    sleep "$(awk -v ms=$((RANDOM % kill_window_ms + 5)) 'BEGIN { printf "%.3f", ms / 1000 }')"
    if kill -9 "$pid" 2>/dev/null; then killed=$((killed + 1)); else finished=$((finished + 1)); fi
    wait "$pid" 2>/dev/null || true
done
echo "crash-proof: $runs runs, $killed killed mid-run with SIGKILL, $finished finished before the kill"
echo "crash-proof: after the kills: $(sql -c "select count(*) from public.matchmaker_outbox") matches in the outbox, $(sql -c "select count(*) from pgmq.\"q_stranger-queue\"") messages queued, $(sql -c "select count(*) from public.room") rooms"

# Recovery: outbox claims run out after max(2 × lease, 10 s); then clean passes settle everything.
sleep 11
for settle in $(seq 1 40); do
    "$binary" match >/dev/null 2>&1 || true
    outbox="$(sql -c "select count(*) from public.matchmaker_outbox")"
    visible="$(sql -c "select count(*) from pgmq.\"q_stranger-queue\" where vt <= now()")"
    leased="$(sql -c "select count(*) from pgmq.\"q_stranger-queue\" where vt > now()")"
    [[ "$outbox" == 0 && "$visible" == 0 && "$leased" == 0 ]] && break
    sleep 1
done

violations="$(sql <<'SQL'
with members as (select room_id, user_id from public.room_member),
told as (
    select payload -> 'room' ->> 'id' as room_id, substr(topic, 6) as user_id from realtime.messages where event = 'stranger_matched'
),
expired as (select distinct substr(topic, 6) as user_id from realtime.messages where event = 'stranger_no_matches'),
queued as (select distinct message ->> 'userId' as user_id from pgmq."q_stranger-queue"),
enqueued as (select id as user_id from public."user" where id like 'c%')
select 'user in two rooms: ' || user_id from members group by user_id having count(*) > 1
union all select 'member never told: ' || m.user_id || ' in ' || m.room_id from members m
    where not exists (select 1 from told t where t.room_id = m.room_id and t.user_id = m.user_id)
union all select 'in a room and queued: ' || m.user_id from members m join queued q using (user_id)
union all select 'unaccounted: ' || e.user_id from enqueued e
    where not exists (select 1 from members m where m.user_id = e.user_id)
      and not exists (select 1 from queued q where q.user_id = e.user_id)
      and not exists (select 1 from expired x where x.user_id = e.user_id)
union all select 'skipped pair in room ' || a.room_id from members a join members b on a.room_id = b.room_id and a.user_id < b.user_id
    join public.skipped_pair s on s.user_a_id = a.user_id and s.user_b_id = b.user_id
    join public.room r on r.id = a.room_id where r.created_at < s.created_at + interval '10 seconds'
union all select 'two bots in room ' || a.room_id from members a join members b on a.room_id = b.room_id and a.user_id < b.user_id
    join public."user" ua on ua.id = a.user_id join public."user" ub on ub.id = b.user_id where ua.is_bot and ub.is_bot
union all select 'undelivered match: ' || room_id from public.matchmaker_outbox;
SQL
)"
rooms="$(sql -c "select count(*) from public.room")"
expired="$(sql -c "select count(distinct topic) from realtime.messages where event = 'stranger_no_matches' and substr(topic, 6) not in (select user_id from public.room_member)")"
queued="$(sql -c "select count(distinct message ->> 'userId') from pgmq.\"q_stranger-queue\"")"
repeats="$(sql -c "select count(*) - count(distinct (topic, payload -> 'room' ->> 'id')) from realtime.messages where event = 'stranger_matched'")"
echo "crash-proof: settled: $rooms rooms ($((2 * rooms)) users), $expired expired with notice, $queued still queued, of $users users; $repeats repeated stranger_matched deliveries"
if [[ -n "$violations" ]]; then
    echo "crash-proof: FAILED"
    echo "$violations" | head -20
    exit 1
fi
echo "crash-proof: every user accounted for"
