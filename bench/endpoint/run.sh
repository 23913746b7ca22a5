#!/usr/bin/env bash
# Endpoint throughput: `wrk` (2 threads, 64 connections) against `POST /functions/v1/stranger-matchmaker` of
# an embedded `matchmaker serve` (release, BOTS=off, so the queue stays empty) and against `POST /hello` of
# `HelloBench` (the smallest Hummingbird server, same dependencies, release), alternated A/B/A/B in one
# session; prints requests/s of each run, the means, and the ratio endpoint / hello.
# Needs wrk (Debian: apt-get install wrk). Usage: bench/endpoint/run.sh [seconds per run, default 10] [rounds, default 2]
# With BASELINE=<path to another matchmaker binary> (say, a release build of an earlier commit), its endpoint is
# measured too, in the same alternation (baseline/endpoint/hello), for a before/after in one session.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-10}"
rounds="${2:-2}"
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 2; }
swift build -c release --product matchmaker >/dev/null
swift build -c release --product HelloBench >/dev/null

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
serve_port=$(free_port)
hello_port=$(free_port)
BOTS=off LOG_LEVEL=error .build/release/matchmaker serve --host 127.0.0.1 --port "$serve_port" & serve=$!
base=""
if [[ -n "${BASELINE:-}" ]]; then
    base_port=$(free_port)
    BOTS=off LOG_LEVEL=error "$BASELINE" serve --host 127.0.0.1 --port "$base_port" & base=$!
fi
.build/release/HelloBench "$hello_port" >/dev/null 2>&1 & hello=$!
script=$(mktemp --suffix=.lua)
trap 'kill $serve $hello $base 2>/dev/null || true; rm -f "$script"' EXIT
printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = "{}"\n' >"$script"
for port in "$serve_port" "$hello_port" ${base:+"$base_port"}; do
    until curl -sf -o /dev/null -X POST "http://127.0.0.1:$port/$([[ $port == "$hello_port" ]] && echo hello || echo functions/v1/stranger-matchmaker)"; do sleep 0.2; done
done
curl -s -X POST "http://127.0.0.1:$serve_port/functions/v1/stranger-matchmaker"; echo

measure() { wrk -t2 -c64 -d"${seconds}s" -s "$script" "$1" | awk '/Requests\/sec/ {print $2}'; }
endpoint=()
reference=()
baseline=()
for round in $(seq "$rounds"); do
    if [[ -n "$base" ]]; then
        c=$(measure "http://127.0.0.1:$base_port/functions/v1/stranger-matchmaker")
        baseline+=("$c")
        echo "round $round: baseline $c req/s"
    fi
    a=$(measure "http://127.0.0.1:$serve_port/functions/v1/stranger-matchmaker")
    b=$(measure "http://127.0.0.1:$hello_port/hello")
    endpoint+=("$a")
    reference+=("$b")
    echo "round $round: endpoint $a req/s, hello $b req/s"
done
python3 - "${endpoint[*]}" "${reference[*]}" "${baseline[*]:-}" <<'PY'
import sys
a = [float(x) for x in sys.argv[1].split()]
b = [float(x) for x in sys.argv[2].split()]
c = [float(x) for x in sys.argv[3].split()]
ma, mb = sum(a) / len(a), sum(b) / len(b)
print(f"endpoint mean {ma:.0f} req/s, hello mean {mb:.0f} req/s, ratio {ma / mb:.2f}")
if c:
    mc = sum(c) / len(c)
    print(f"baseline mean {mc:.0f} req/s, ratio {mc / mb:.2f}")
PY
curl -s "http://127.0.0.1:$serve_port/stats" | python3 -c 'import json,sys; s=json.load(sys.stdin); print("passes run by serve:", s["passes"])'
