#!/usr/bin/env bash
# Bots per process: starts `matchmaker serve` (embedded, BOTS=off, BOT_FILL_AFTER 5 s), then `matchmaker bots`
# with N bots against it, waits until all N are ready (idle in the bot registry: serve's `idle_bots`), and
# prints the time that took, RSS and sockets of the bots process. With all N ready, the load simulator then
# plays humans over real sockets: lone humans (0.2 arrivals/s for 30 s: each meets a bot) and pairs (10/s
# for 5 s: they meet each other), and the row gets their p99.
#
# Usage: bench/bots/run.sh [N...]   (default: 100 500 1000; env BIN=<folder> runs binaries built before)
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ -n "${BIN:-}" ]]; then
    bin="$BIN"
else
    swift build -c release --product matchmaker >/dev/null
    swift build -c release --product Simulate >/dev/null
    bin=.build/release
fi
counts=("${@:-100 500 1000}")
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
serve_port=$(free_port) bots_port=$(free_port)
url="http://127.0.0.1:$serve_port"
BOTS=off BOT_FILL_AFTER=5 LOG_LEVEL=warning "$bin/matchmaker" serve --host 127.0.0.1 --port "$serve_port" >/tmp/bench-bots-serve.log 2>&1 &
serve=$!
trap 'kill $serve 2>/dev/null || true' EXIT
until curl -sf "$url/healthz" >/dev/null; do sleep 0.2; done

idle() {
    curl -sf -X POST "$url/rest/v1/rpc/idle_bots" -H "apikey: bench" -H "content-type: application/json" -d '{"max_rows": 100000}' |
        python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
}
p99() { python3 -c "import json,sys; p=json.load(open('$1'))['$2']; print(f\"{p['p99'] * 1000:.0f} ms (n={p['count']})\" if p['count'] else '-')"; }

printf '| bots | all ready after | RSS (MiB) | sockets | channels | lone human meets a bot, p99 | two humans meet, p99 |\n'
printf '|---|---|---|---|---|---|---|\n'
for n in ${counts[@]}; do
    start=$(date +%s.%N)
    # Any key will do: the embedded serve runs without a JWT secret.
    SUPABASE_SERVICE_ROLE_KEY=bench BOT_MIN_COUNT=$n BOT_MAX_COUNT=$n BOT_STAGGER_MIN_MS=0 BOT_STAGGER_MAX_MS=0 LOG_LEVEL=error \
        "$bin/matchmaker" bots --url "$url" --port "$bots_port" &
    bots=$!
    until [ "$(idle 2>/dev/null)" = "$n" ]; do
        kill -0 $bots 2>/dev/null || { echo "matchmaker bots exited" >&2; exit 1; }
        sleep 0.2
    done
    took=$(python3 -c "print(f'{$(date +%s.%N) - $start:.1f} s')")
    rss=$(awk '/VmRSS/ {printf "%.0f", $2/1024}' /proc/$bots/status)
    read -r sockets channels < <(curl -sf "http://127.0.0.1:$bots_port/stats" |
        python3 -c 'import json,sys; p=json.load(sys.stdin)["realtime"]["pool"]; print(p["sockets"], sum(p["channelsPerSocket"]))')
    "$bin/Simulate" --url "$url" --rate 0.2 --duration 30 --drain 10 --progress 0 --json /tmp/bench-bots-lone.json >/dev/null || true
    "$bin/Simulate" --url "$url" --rate 10 --duration 5 --drain 10 --progress 0 --json /tmp/bench-bots-pairs.json >/dev/null || true
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$n" "$took" "$rss" "$sockets" "$channels" \
        "$(p99 /tmp/bench-bots-lone.json botFills)" "$(p99 /tmp/bench-bots-pairs.json humanPairs)"
    kill -TERM $bots
    wait $bots || true
done
