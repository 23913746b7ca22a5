#!/usr/bin/env bash
# The soak: `matchmaker serve` (embedded) and `matchmaker bots` under a steady simulated load for a long
# time, sampled every 10 s (RSS, open descriptors, sockets, passes and mean pass time, rows stored), so that
# a leak shows as a slope. Release builds.
#
#   bench/soak/run.sh              (env: SOAK_SECONDS=1800 RATE=4 LEAVERS=0.1 SKIPS=0.2 BOTS=20 OUT=/tmp/soak
#                                        RETAIN=300 BUILD=release; BIN=<folder> runs binaries built before instead)
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
BOTS="${BOTS:-20}" OUT="${OUT:-/tmp/soak}" RETAIN="${RETAIN:-300}"
mkdir -p "$OUT"
if [[ -n "${BIN:-}" ]]; then
    bin="$BIN"
else
    swift build -c "${BUILD:-release}" --product matchmaker >/dev/null
    swift build -c "${BUILD:-release}" --product Simulate >/dev/null
    bin=".build/${BUILD:-release}"
fi
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
serve_port=$(free_port) bots_port=$(free_port)

pids=()
trap 'for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait || true' EXIT
BOTS=off LOG_LEVEL=warning "$bin/matchmaker" serve --host 127.0.0.1 --port "$serve_port" >"$OUT/serve.log" 2>&1 &
serve=$!
pids+=("$serve")
until curl -sf "http://127.0.0.1:$serve_port/healthz" >/dev/null; do sleep 0.2; done
# Any key will do: the embedded serve checks no caller without a JWT secret.
SUPABASE_SERVICE_ROLE_KEY=soak BOT_MIN_COUNT=$BOTS BOT_MAX_COUNT=$BOTS BOT_STAGGER_MIN_MS=0 BOT_STAGGER_MAX_MS=100 \
    LOG_LEVEL=warning "$bin/matchmaker" bots --url "http://127.0.0.1:$serve_port" --port "$bots_port" >"$OUT/bots.log" 2>&1 &
bots=$!
pids+=("$bots")
until curl -sf "http://127.0.0.1:$bots_port/readyz" >/dev/null; do sleep 0.5; done

rest="http://127.0.0.1:$serve_port/rest/v1"
retain() {
    while sleep 60; do
        # Analytics first: `bot_analytics.conversation_id` references the room without a cascade, and a
        # conversation may end after its room's cut-off, so rooms get twice as long.
        local cut rooms_cut
        cut=$(date -u -d "-$RETAIN seconds" +%Y-%m-%dT%H:%M:%S)
        rooms_cut=$(date -u -d "-$((RETAIN * 2)) seconds" +%Y-%m-%dT%H:%M:%S)
        for target in "bot_analytics?created_at=lt.$cut" "skipped_pair?created_at=lt.$cut" "room?created_at=lt.$rooms_cut"; do
            curl -s -o /dev/null -w "retain $target: %{http_code}\n" -X DELETE -H "apikey: soak" "$rest/$target" >>"$OUT/retain.log"
        done
    done
}
if ((RETAIN > 0)); then
    retain &
    pids+=($!)
fi

echo "soak: $SOAK_SECONDS s, $RATE arrivals/s, $BOTS bots; serve pid $serve, bots pid $bots; samples in $OUT/samples.csv"
"$bin/Simulate" --url "http://127.0.0.1:$serve_port" --rate "$RATE" --duration "$SOAK_SECONDS" --drain 30 \
    --leavers "$LEAVERS" --skips "$SKIPS" --reuse-users --max-wait 60 --progress 300 --log-level warning --json "$OUT/simulate.json" >"$OUT/simulate.log" 2>&1 &
simulator=$!
pids+=("$simulator")
python3 bench/soak/sample.py "$OUT/samples.csv" 10 "$SOAK_SECONDS" "http://127.0.0.1:$serve_port" \
    serve=$serve bots=$bots simulator=$simulator
status=0
wait "$simulator" || status=$?
cat "$OUT/simulate.log" | tail -20
python3 bench/soak/summarize.py "$OUT/samples.csv"
exit $status
