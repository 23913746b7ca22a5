#!/usr/bin/env bash
# The deployed path end to end: `matchmaker match` and `matchmaker serve` on DATABASE_URL (the postgres
# backend, its `SQLBroadcastNotifier` through `realtime.send`, the Realtime of an embedded `serve` through
# SUPABASE_URL, and the outbox relay after a SIGKILL), driven by Tests/conformance/test_postgres_backend.py
# with the official `realtime` client and psycopg (pinned in Tests/conformance/requirements.txt).
# Always against a throwaway PostgreSQL from scripts/with-postgres.sh, never a DATABASE_URL set outside.
# Usage: scripts/conformance-postgres.sh [pytest args...]
# Exits non-zero when a test fails or when the suite ran no test.
set -euo pipefail
cd "$(dirname "$0")/.."

# Re-run inside a throwaway database; the marker tells the tests that this DATABASE_URL may be written.
if [[ "${MATCHMAKER_PG_THROWAWAY:-}" != 1 ]]; then
    exec env MATCHMAKER_PG_THROWAWAY=1 scripts/with-postgres.sh "$0" "$@"
fi

# The venv that scripts/conformance.sh and with-postgres.sh share, with the clients.
[[ -x .venv/bin/python ]] || python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r Tests/conformance/requirements.txt
swift build --product matchmaker

status=0
MATCHMAKER_BIN="$PWD/.build/debug/matchmaker" .venv/bin/python -m pytest -q Tests/conformance/test_postgres_backend.py "$@" || status=$?
if [[ $status -eq 5 ]]; then
    echo "conformance-postgres: no test ran" >&2
    exit 1
fi
exit "$status"
