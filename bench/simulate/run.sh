#!/usr/bin/env bash
# Time to match under load: release builds of `matchmaker` and the simulator (`Simulate`), then for each
# pass trigger (MATCH_ON_EVENTS=false: the interval only; true: events, the default once issue 11 lands):
#   embedded  `serve` with its in-process bots: RATE arrivals/s for DURATION s, then a lone-human run
#             (LONE_RATE arrivals/s for LONE_DURATION s) so that most users meet a bot;
#   postgres  `serve` on DATABASE_URL (a throwaway PostgreSQL from scripts/with-postgres.sh) with a second,
#             embedded `serve` as its Realtime (as scripts/conformance-postgres.sh does); the simulator writes
#             user rows and enqueues into the database as `anon`. No bots: they write through PostgREST,
#             which this setup does not have, so a lone user hears `stranger_no_matches` (QUEUE_TTL=10).
# Writes one JSON report per run and a Markdown table to $OUT (default /tmp/simulate-results) and prints the
# table. Exits 1 when any run had a double match or an untold user.
# Usage: bench/simulate/run.sh            (env: RATE=20 DURATION=30 LONE_RATE=0.15 LONE_DURATION=60
#                                          BACKENDS="embedded postgres" MODES="false true" SEED=1)
set -euo pipefail
cd "$(dirname "$0")/../.."

RATE="${RATE:-20}" DURATION="${DURATION:-30}" LONE_RATE="${LONE_RATE:-0.15}" LONE_DURATION="${LONE_DURATION:-60}"
BACKENDS="${BACKENDS:-embedded postgres}" MODES="${MODES:-false true}" SEED="${SEED:-1}"
OUT="${OUT:-/tmp/simulate-results}"
export RATE DURATION LONE_RATE LONE_DURATION MODES SEED OUT
bin=.build/release

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

# `serve` on a free port with the given environment (plus LOG_LEVEL=warning); sets pid and port.
started=()
start_serve() {
    port=$(free_port)
    local log="$OUT/serve-$port.log"
    # Only what is given: with-postgres.sh exports DATABASE_URL, which must reach the matcher alone.
    env -u DATABASE_URL LOG_LEVEL=warning "$@" "$bin/matchmaker" serve --host 127.0.0.1 --port "$port" >"$log" 2>&1 &
    pid=$!
    started+=("$pid")
    until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do
        kill -0 $pid 2>/dev/null || { echo "serve exited:" >&2; cat "$log" >&2; exit 1; }
        sleep 0.2
    done
}
stop_all() { for p in "${started[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait || true; started=(); }
trap stop_all EXIT

# Waits until the in-process bots of the serve on $1 have at least $2 waiting (at most 60 s).
wait_for_bots() {
    local deadline=$((SECONDS + 60))
    until [ "$(curl -sf "http://127.0.0.1:$1/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("bots", {}).get("waiting", 0))')" -ge "$2" ]; do
        ((SECONDS < deadline)) || { echo "bots not waiting after 60 s" >&2; return 1; }
        sleep 0.5
    done
}

# One simulator run: NAME, then Simulate's arguments.
simulate() {
    local name=$1
    shift
    echo "==> $name"
    local status=0
    "$bin/Simulate" --seed "$SEED" --progress 10 --json "$OUT/$name.json" "$@" || status=$?
    [[ $status -le 1 ]] || exit "$status"
}

embedded_runs() {
    for events in $MODES; do
        start_serve MATCH_ON_EVENTS="$events"
        wait_for_bots "$port" 3
        simulate "embedded-events-$events" --url "http://127.0.0.1:$port" --rate "$RATE" --duration "$DURATION"
        simulate "embedded-events-$events-lone" --url "http://127.0.0.1:$port" --rate "$LONE_RATE" --duration "$LONE_DURATION"
        stop_all
    done
}

postgres_runs() {
    for events in $MODES; do
        start_serve BOTS=off MATCH_INTERVAL=3600
        local hub=$port
        start_serve DATABASE_URL="$DATABASE_URL" SUPABASE_URL="http://127.0.0.1:$hub" \
            SUPABASE_SERVICE_ROLE_KEY=service-role-key BOTS=off QUEUE_TTL=10 MATCH_ON_EVENTS="$events"
        simulate "postgres-events-$events" --url "http://127.0.0.1:$hub" --stats-url "http://127.0.0.1:$port" \
            --database-url "$DATABASE_URL" --rate "$RATE" --duration "$DURATION"
        stop_all
    done
}

mkdir -p "$OUT"
if [[ "${1:-}" == --postgres-inside ]]; then
    postgres_runs
    exit 0
fi

swift build -c release --product matchmaker >/dev/null
swift build -c release --product Simulate >/dev/null
rm -rf "$OUT" && mkdir -p "$OUT"
for backend in $BACKENDS; do
    case $backend in
        embedded) embedded_runs ;;
        postgres) env -u DATABASE_URL scripts/with-postgres.sh "$0" --postgres-inside ;;
        *) echo "unknown backend $backend" >&2; exit 2 ;;
    esac
done

python3 - "$OUT" <<'PY' | tee "$OUT/results.md"
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
def ms(p):
    return "-" if p["count"] == 0 else f'{p["p50"]*1000:.0f} / {p["p95"]*1000:.0f} / {p["p99"]*1000:.0f} / {p["max"]*1000:.0f}'
print("| run | arrived | human pairs: p50 / p95 / p99 / max ms (n) | bot fills: p50 / p95 / p99 / max ms (n) | rooms | no match | leavers | double | untold | passes |")
print("|---|---:|---|---|---:|---:|---:|---:|---:|---:|")
clean = True
for path in sorted(out.glob("*.json")):
    r = json.loads(path.read_text())
    clean &= r["doubleMatches"] == 0 and r["untold"] == 0
    print(f'| {path.stem} | {r["arrived"]} | {ms(r["humanPairs"])} ({r["humanPairs"]["count"]}) | {ms(r["botFills"])} ({r["botFills"]["count"]}) '
          f'| {r["rooms"]} | {r["noMatches"]} | {r["leavers"]} | {r["doubleMatches"]} | {r["untold"]} | {r.get("passes", "?")} |')
sys.exit(0 if clean else 1)
PY
