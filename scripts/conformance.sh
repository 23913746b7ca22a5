#!/usr/bin/env bash
# Conformance of the embedded backend with the official Supabase Python clients (pinned in
# Tests/conformance/requirements.txt): `realtime` against the hub with open keys, both clients as a lone
# human who meets an in-process bot, `matchmaker match --record` then `replay`, `matchmaker bots` as its own
# process, `supabase` against the REST slice and the function with a JWT
# secret configured, and both clients with the new API keys (`sb_secret_…`, `sb_publishable_…`). Each suite gets its own
# `matchmaker serve` on a free port, always stopped afterwards.
# Usage: scripts/conformance.sh [pytest args...]
# Exits non-zero when a test fails or when a suite ran no test.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ! -x .venv/bin/python ]]; then
    python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r Tests/conformance/requirements.txt
swift build --product matchmaker

server=""
log=$(mktemp --suffix=.matchmaker.log)
stop_server() {
    if [[ -n "$server" ]]; then
        kill "$server" 2> /dev/null || true
        wait "$server" 2> /dev/null || true
        server=""
    fi
}
trap 'stop_server; rm -f "$log"' EXIT

# run_suite FILE [SECRET]: serves on a free port (with SUPABASE_JWT_SECRET=SECRET if given) and runs FILE.
# SERVE_ENV (extra NAME=value words for serve) defaults to no bots, no scheduled and no event-driven
# passes: those tests run each pass through the function endpoint and own the queue.
run_suite() {
    local file=$1 secret=${2:-} port status=0
    port=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    printf '\n==> %s against matchmaker serve on 127.0.0.1:%s\n' "$file" "$port"
    # shellcheck disable=SC2086
    env -u SUPABASE_URL -u DATABASE_URL SUPABASE_JWT_SECRET="$secret" ${SERVE_ENV:-BOTS=off MATCH_INTERVAL=3600 MATCH_ON_EVENTS=false} \
        .build/debug/matchmaker serve --host 127.0.0.1 --port "$port" > "$log" 2>&1 &
    server=$!
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
    MATCHMAKER_URL="http://127.0.0.1:$port" MATCHMAKER_PID="$server" SUPABASE_JWT_SECRET="$secret" MATCHMAKER_BIN="$PWD/.build/debug/matchmaker" \
        .venv/bin/python -m pytest -q "$file" "${@:3}" || status=$?
    stop_server
    if [[ $status -eq 5 ]]; then
        echo "conformance: $file ran no test" >&2
        exit 1
    fi
    if [[ $status -ne 0 ]]; then
        echo "conformance: $file failed; server log:" >&2
        tail -50 "$log" >&2
        exit "$status"
    fi
}

run_suite Tests/conformance/test_realtime.py "" "$@"
run_suite Tests/conformance/test_hostile.py "" "$@"
run_suite Tests/conformance/test_two_process.py "" "$@"
run_suite Tests/conformance/test_record.py "" "$@"
run_suite Tests/conformance/test_bots_command.py "" "$@"
# Bots processes that scale out and crash, against serve with event-driven passes and a short bot fill.
SERVE_ENV="BOTS=off BOT_FILL_AFTER=1 MATCH_INTERVAL=0.5" run_suite Tests/conformance/test_bots_scale_out.py "" "$@"
# Bots on, as `serve` runs by default, with short waits so that a lone human meets one quickly.
export BOT_FILL_AFTER_SECONDS=1 MATCH_INTERVAL_SECONDS=0.5
SERVE_ENV="BOTS=on BOT_MIN_COUNT=2 BOT_MAX_COUNT=2 BOT_STAGGER_MIN_MS=0 BOT_STAGGER_MAX_MS=0
    BOT_FILL_AFTER=$BOT_FILL_AFTER_SECONDS MATCH_INTERVAL=$MATCH_INTERVAL_SECONDS" \
    run_suite Tests/conformance/test_bots.py "" "$@"
run_suite Tests/conformance/test_supabase.py "conformance-secret-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" "$@"
# The new API keys (sb_secret_…, sb_publishable_…) and no JWT secret: the embedded backend maps them to
# service_role and anon as Supabase's gateway does.
export SB_SECRET_KEY="sb_secret_conformance_$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
export SB_PUBLISHABLE_KEY="sb_publishable_conformance_$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
SERVE_ENV="BOTS=off MATCH_INTERVAL=3600 MATCH_ON_EVENTS=false SUPABASE_SERVICE_ROLE_KEY=$SB_SECRET_KEY SUPABASE_ANON_KEY=$SB_PUBLISHABLE_KEY" \
    run_suite Tests/conformance/test_new_keys.py "" "$@"
