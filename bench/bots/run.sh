#!/usr/bin/env bash
# Bots per process: starts `matchmaker serve` (embedded, BOTS=off), then `matchmaker bots` with N bots
# against it, waits until all N are waiting, and prints RSS and sockets of the bots process.
# Usage: bench/bots/run.sh [N...]   (default: 100 500 1000)
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product matchmaker >/dev/null
bin=.build/release/matchmaker
counts=("${@:-100 500 1000}")
BOTS=off LOG_LEVEL=warning "$bin" serve --port 18180 & serve=$!
trap 'kill $serve 2>/dev/null || true' EXIT
until curl -sf http://127.0.0.1:18180/healthz >/dev/null; do sleep 0.2; done
printf '| bots | waiting after | RSS (MiB) | sockets | channels | joins/s limit |\n|---|---|---|---|---|---|\n'
for n in ${counts[@]}; do
    start=$(date +%s.%N)
    # Any key will do: the embedded serve runs without a JWT secret.
    SUPABASE_SERVICE_ROLE_KEY=bench BOT_MIN_COUNT=$n BOT_MAX_COUNT=$n BOT_STAGGER_MIN_MS=0 BOT_STAGGER_MAX_MS=0 LOG_LEVEL=error \
        "$bin" bots --url http://127.0.0.1:18180 --port 18181 & bots=$!
    until [ "$(curl -sf http://127.0.0.1:18181/stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["waiting"])' 2>/dev/null)" = "$n" ]; do
        kill -0 $bots 2>/dev/null || { echo "matchmaker bots exited" >&2; exit 1; }
        sleep 0.5
    done
    took=$(python3 -c "print(f'{$(date +%s.%N) - $start:.1f} s')")
    rss=$(awk '/VmRSS/ {printf "%.0f", $2/1024}' /proc/$bots/status)
    read -r sockets channels < <(curl -sf http://127.0.0.1:18181/stats |
        python3 -c 'import json,sys; p=json.load(sys.stdin)["realtime"]["pool"]; print(p["sockets"], sum(p["channelsPerSocket"]))')
    printf '| %s | %s | %s | %s | %s | 100 |\n' "$n" "$took" "$rss" "$sockets" "$channels"
    kill -TERM $bots; wait $bots || true
done
