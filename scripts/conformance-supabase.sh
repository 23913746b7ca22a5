#!/usr/bin/env bash
# Conformance of the embedded backend with the official `supabase` Python client (pinned in
# Tests/conformance/requirements.txt): starts `matchmaker serve` on a free port with a test JWT
# secret, runs Tests/conformance/test_supabase.py against it, and always stops the server.
# Usage: scripts/conformance-supabase.sh [pytest args...]   (from anywhere)
# Exits non-zero when a test fails or when no test ran.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "python venv .venv with Tests/conformance/requirements.txt"
if [[ ! -x .venv/bin/python ]]; then
    python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r Tests/conformance/requirements.txt

step "build matchmaker (incremental: nothing to do when up to date)"
swift build --product matchmaker

port=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
secret="conformance-secret-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
log=$(mktemp --suffix=.matchmaker.log)
report=$(mktemp --suffix=.junit.xml)

step "matchmaker serve on 127.0.0.1:$port (embedded backend)"
# Scheduled passes are pushed far out: the tests run each pass through the function endpoint.
env -u SUPABASE_URL -u DATABASE_URL SUPABASE_JWT_SECRET="$secret" \
    .build/debug/matchmaker serve --host 127.0.0.1 --port "$port" --interval 3600 > "$log" 2>&1 &
server=$!
stop() {
    kill "$server" 2> /dev/null || true
    wait "$server" 2> /dev/null || true
    rm -f "$report"
}
trap stop EXIT

for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$port/healthz" > /dev/null 2>&1; then break; fi
    if ! kill -0 "$server" 2> /dev/null; then
        echo "matchmaker serve exited early:" >&2
        cat "$log" >&2
        exit 1
    fi
    sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/healthz" > /dev/null || { echo "no /healthz after 10 s" >&2; cat "$log" >&2; exit 1; }

step "pytest Tests/conformance/test_supabase.py"
status=0
MATCHMAKER_URL="http://127.0.0.1:$port" SUPABASE_JWT_SECRET="$secret" \
    .venv/bin/python -m pytest -p no:cacheprovider --junitxml="$report" Tests/conformance/test_supabase.py "$@" || status=$?
if [[ $status -ne 0 ]]; then
    echo "server log: $log" >&2
    exit "$status"
fi
ran=$(.venv/bin/python -c 'import sys, xml.etree.ElementTree as ET; r = ET.parse(sys.argv[1]).getroot(); s = r if r.tag == "testsuite" else r.find("testsuite"); print(int(s.get("tests")) - int(s.get("skipped")))' "$report")
if [[ "$ran" -lt 1 ]]; then
    echo "no conformance test ran" >&2
    exit 1
fi
rm -f "$log"
echo "Supabase conformance: $ran tests passed."
