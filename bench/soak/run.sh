#!/usr/bin/env bash
# The soak: `matchmaker serve` and simulated users under a steady load for a long time, sampled every 10 s
# (RSS, open descriptors, sockets, passes and mean pass time, rows stored), so that a leak shows as a slope.
# Release builds.
#
#   bench/soak/run.sh              (env: BACKEND=embedded SOAK_SECONDS=1800 RATE=4 LEAVERS=0.1 SKIPS=0.2 BOT_COUNT=20
#                                        OUT=/tmp/soak RETAIN=300 BUILD=release; BIN=<folder> runs binaries built
#                                        before instead)
#
# BACKEND=embedded: `serve` on the embedded backend (BOTS=off) and `matchmaker bots` (BOT_COUNT bots) as a second
# process, as a deployment runs them.
# BACKEND=postgres: `serve` on DATABASE_URL, a throwaway PostgreSQL from scripts/with-postgres.sh (the app's
# schema, pgmq, our migrations), with a second, embedded `serve` as its Realtime, as
# scripts/conformance-postgres.sh does; the simulator writes user rows and enqueues into the database as
# `anon`. No bots there (they write through PostgREST, which this setup does not have), so a lone user hears
# `stranger_no_matches` after QUEUE_TTL=10 s.
#
# The load is steady, and so is the data: returning users reuse their ids (`--reuse-users`), and a retention
# job, as an operator would schedule one, deletes every minute the rooms (their members and messages
# cascade), bot analytics and skips older than RETAIN seconds (RETAIN=0: keep everything). The embedded
# backend keeps its data in `serve`'s memory, so without it RSS measures the data as well as the process.
# A user still waiting 60 s after an enqueue counts as untold (`--max-wait`).
#
# Writes $OUT/samples.csv and prints the Markdown summary (bench/soak/summarize.py) that goes in
# bench/RESULTS.md. Exits non-zero if a process died or the simulator saw a double match or an untold user.
set -euo pipefail
cd "$(dirname "$0")/../.."
SOAK_SECONDS="${SOAK_SECONDS:-1800}" RATE="${RATE:-4}" LEAVERS="${LEAVERS:-0.1}" SKIPS="${SKIPS:-0.2}"
BOT_COUNT="${BOT_COUNT:-20}" OUT="${OUT:-/tmp/soak}" RETAIN="${RETAIN:-300}" BACKEND="${BACKEND:-embedded}"
mkdir -p "$OUT"
if [[ -n "${BIN:-}" ]]; then
    bin="$(cd "$BIN" && pwd)"
else
    swift build -c "${BUILD:-release}" --product matchmaker >/dev/null
    swift build -c "${BUILD:-release}" --product Simulate >/dev/null
    bin="$PWD/.build/${BUILD:-release}"
fi
case $BACKEND in
    embedded) ;;
    postgres)
        # Again inside a throwaway database; the marker says this DATABASE_URL is ours to write.
        if [[ "${MATCHMAKER_PG_THROWAWAY:-}" != 1 ]]; then
            exec env -u DATABASE_URL MATCHMAKER_PG_THROWAWAY=1 BIN="$bin" scripts/with-postgres.sh "$0"
        fi
        export PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
        psql=("$PG_BIN/psql" "$DATABASE_URL" -qAt -v ON_ERROR_STOP=1)
        ;;
    *) echo "unknown BACKEND $BACKEND (embedded or postgres)" >&2; exit 2 ;;
esac
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

pids=()
trap 'for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait || true' EXIT
# Waits until URL answers, or ends the run with NAME's log if its process PID has exited.
wait_until_up() {
    local name=$1 pid=$2 url=$3
    until curl -sf "$url" >/dev/null; do
        kill -0 "$pid" 2>/dev/null || { echo "$name exited:" >&2; cat "$OUT/$name.log" >&2; exit 1; }
        sleep 0.2
    done
}
# `serve` on a free port with the given environment (plus LOG_LEVEL=warning), logging to $OUT/$1.log; sets
# pid and port. Only what is given: with-postgres.sh exports DATABASE_URL, which must reach the matcher alone.
start_serve() {
    local name=$1
    shift
    port=$(free_port)
    env -u DATABASE_URL LOG_LEVEL=warning "$@" "$bin/matchmaker" serve --host 127.0.0.1 --port "$port" >"$OUT/$name.log" 2>&1 &
    pid=$!
    pids+=("$pid")
    wait_until_up "$name" "$pid" "http://127.0.0.1:$port/healthz"
}

if [[ $BACKEND == embedded ]]; then
    start_serve serve BOTS=off
    serve=$pid serve_port=$port
    realtime_port=$port
    bots_port=$(free_port)
    # Any key will do: the embedded serve checks no caller without a JWT secret.
    SUPABASE_SERVICE_ROLE_KEY=soak BOT_MIN_COUNT=$BOT_COUNT BOT_MAX_COUNT=$BOT_COUNT BOT_STAGGER_MIN_MS=0 BOT_STAGGER_MAX_MS=100 \
        LOG_LEVEL=warning "$bin/matchmaker" bots --url "http://127.0.0.1:$serve_port" --port "$bots_port" >"$OUT/bots.log" 2>&1 &
    bots=$!
    pids+=("$bots")
    wait_until_up bots "$bots" "http://127.0.0.1:$bots_port/readyz"
    others=("bots=$bots")
    database=()
    rows_from=""
else
    start_serve realtime BOTS=off MATCH_INTERVAL=3600
    realtime=$pid realtime_port=$port
    start_serve serve DATABASE_URL="$DATABASE_URL" SUPABASE_URL="http://127.0.0.1:$realtime_port" \
        SUPABASE_SERVICE_ROLE_KEY=service-role-key BOTS=off QUEUE_TTL=10
    serve=$pid serve_port=$port
    others=("realtime=$realtime")
    database=(--database-url "$DATABASE_URL")
    rows_from="$DATABASE_URL"
fi

rest="http://127.0.0.1:$serve_port/rest/v1"
retain() {
    while sleep 60; do
        # Analytics first: `bot_analytics.conversation_id` references the room without a cascade, and a
        # conversation may end after its room's cut-off, so rooms get twice as long.
        local cut rooms_cut
        cut=$(date -u -d "-$RETAIN seconds" +%Y-%m-%dT%H:%M:%S)
        rooms_cut=$(date -u -d "-$((RETAIN * 2)) seconds" +%Y-%m-%dT%H:%M:%S)
        if [[ $BACKEND == embedded ]]; then
            for target in "bot_analytics?created_at=lt.$cut" "skipped_pair?created_at=lt.$cut" "room?created_at=lt.$rooms_cut"; do
                curl -s -o /dev/null -w "retain $target: %{http_code}\n" -X DELETE -H "apikey: soak" "$rest/$target" >>"$OUT/retain.log"
            done
        else
            "${psql[@]}" >>"$OUT/retain.log" 2>&1 <<SQL || true
delete from public.bot_analytics where created_at < '$cut';
delete from public.skipped_pair where created_at < '$cut';
delete from public.room where created_at < '$rooms_cut';
SQL
        fi
    done
}
if ((RETAIN > 0)); then
    retain &
    pids+=($!)
fi

echo "soak ($BACKEND): $SOAK_SECONDS s, $RATE arrivals/s; serve pid $serve, ${others[*]}; samples in $OUT/samples.csv"
"$bin/Simulate" --url "http://127.0.0.1:$realtime_port" --stats-url "http://127.0.0.1:$serve_port" "${database[@]}" \
    --rate "$RATE" --duration "$SOAK_SECONDS" --drain 30 --leavers "$LEAVERS" --skips "$SKIPS" --reuse-users --max-wait 60 \
    --progress 300 --log-level warning --json "$OUT/simulate.json" >"$OUT/simulate.log" 2>&1 &
simulator=$!
pids+=("$simulator")
# The rows stored: through the embedded serve's PostgREST, or with psql from the database.
SOAK_DATABASE_URL="$rows_from" python3 bench/soak/sample.py "$OUT/samples.csv" 10 "$SOAK_SECONDS" "http://127.0.0.1:$serve_port" \
    serve=$serve "${others[@]}" simulator=$simulator
status=0
wait "$simulator" || status=$?
cat "$OUT/simulate.log" | tail -20
python3 bench/soak/summarize.py "$OUT/samples.csv"
exit $status
