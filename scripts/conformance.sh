#!/usr/bin/env bash
# Runs the official Supabase `realtime` Python client against `matchmaker serve` on the embedded backend.
# Creates .venv, installs Tests/conformance/requirements.txt, builds and starts the server on a free port,
# runs pytest, stops the server. Exits non-zero on any failure or when no test ran.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r Tests/conformance/requirements.txt

swift build --product matchmaker
binary="$(swift build --show-bin-path)/matchmaker"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
log="$(mktemp)"
"$binary" serve --host 127.0.0.1 --port "$port" --interval 3600 >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -f "$log"' EXIT

for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$server" 2>/dev/null; then cat "$log"; echo "server exited early" >&2; exit 1; fi
    sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null

status=0
MATCHMAKER_URL="http://127.0.0.1:$port" .venv/bin/python -m pytest -q Tests/conformance || status=$?
if [ "$status" -eq 5 ]; then
    echo "conformance: no test ran" >&2
    exit 1
fi
exit "$status"
