#!/usr/bin/env bash
# The release benchmark of the postgres backend: pgbench, then 1, 2, 4 and 8 matcher processes.
#
#   bench/postgres-concurrency/run.sh [USERS]      # default 10000; MATCHERS="1 2 4 8" to choose the runs
#
# Builds the release binary (`swift build -c release --product matchmaker`; SKIP_BUILD=1 reuses the
# last one), starts a throwaway PostgreSQL 15 (scripts/with-postgres.sh: fsync off, the real pgmq SQL,
# the app schema, a `realtime.send` stand-in, our migrations), runs pgbench TPC-B (8 clients, 15 s),
# then, one after the other, 1, 2, 4 and 8 `matchmaker serve` processes on DATABASE_URL over USERS
# users enqueued at once (bench.py), with progress on the console, and writes pairs/s, the ratio to
# pgbench, p99 pass time and the invariants to bench/RESULTS-postgres.md. Exits non-zero when an
# invariant fails (a user in two rooms, a user lost, a member never told).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
if [[ -z "${DATABASE_URL:-}" ]]; then
    if [[ "${SKIP_BUILD:-}" != 1 ]]; then
        echo "building the release binary (swift build -c release --product matchmaker)..."
        swift build -c release --product matchmaker
    fi
    exec "$root/scripts/with-postgres.sh" "$0" "$@"
fi
users="${1:-10000}"
binary="$root/.build/release/matchmaker"
[[ -x "$binary" ]] || binary="$(swift build -c release --show-bin-path)/matchmaker"
[[ -x "$binary" ]] || { echo "no release binary at $binary (run without SKIP_BUILD=1)" >&2; exit 2; }
logs="$(mktemp -d /tmp/matchmaker-bench.XXXXXX)"
echo "matcher logs: $logs"
python3 "$root/bench/postgres-concurrency/bench.py" --users "$users" --matchers "${MATCHERS:-1 2 4 8}" \
    --binary "$binary" --out "$root/bench/RESULTS-postgres.md" --logs "$logs"
