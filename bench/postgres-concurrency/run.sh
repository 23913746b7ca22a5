#!/usr/bin/env bash
# The concurrency proof at full size, next to a pgbench baseline on the same throwaway server.
#
#   swift build --build-tests && bench/postgres-concurrency/run.sh [USERS]      # default 10000
#
# One PostgreSQL 15 (scripts/with-postgres.sh) serves, one after the other: pgbench's TPC-B-like
# read-write run (8 clients, 2 threads, 20 s, scale 10), then 8 matchers (each with its own
# connection pool) over USERS enqueued users, through the test
# `eightMatchersNeverDoubleMatchOrLoseAUser`, which also checks every invariant. Writes the numbers
# to bench/RESULTS-postgres.md.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
if [[ -z "${DATABASE_URL:-}" ]]; then
    exec "$root/scripts/with-postgres.sh" "$0" "$@"
fi
users="${1:-10000}"
cd "$root"
pg_bin=/usr/lib/postgresql/15/bin
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$pg_bin/pgbench" -i -s 10 -q >/dev/null 2>&1
"$pg_bin/pgbench" -c 8 -j 2 -T 20 -n >"$work/pgbench.txt" 2>&1
tps="$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$work/pgbench.txt" | head -1)"

if ! MATCHMAKER_CONCURRENCY_USERS="$users" MATCHMAKER_BENCH_OUT="$work/numbers.json" \
    swift test --skip-build --filter eightMatchersNeverDoubleMatchOrLoseAUser >"$work/test.log" 2>&1; then
    tail -40 "$work/test.log"
    exit 1
fi

python3 - "$work/numbers.json" "$tps" "$users" <<'PY'
import datetime, json, os, sys
numbers = json.load(open(sys.argv[1]))
tps = float(sys.argv[2])
lines = [
    "# PostgreSQL backend: concurrency benchmark",
    "",
    f"Measured by `bench/postgres-concurrency/run.sh {sys.argv[3]}` on {datetime.date.today().isoformat()},",
    f"{os.cpu_count()} cores shared with other work, PostgreSQL 15.18 (throwaway cluster, fsync off), debug build.",
    "One server serves both runs, one after the other.",
    "",
    "| what | value |",
    "|---|---|",
    f"| users enqueued | {numbers['users']} ({numbers['messages']} messages incl. re-enqueues after skips and duplicates; 5 % bots) |",
    f"| matchers | {numbers['matchers']}, each with its own connection pool |",
    f"| rooms | {numbers['rooms']} |",
    f"| expired with notice / still queued | {numbers['expired']} / {numbers['stillQueued']} |",
    f"| passes | {numbers['passes']} |",
    f"| wall time, until the queue was empty | {numbers['seconds']:.2f} s |",
    f"| pairs per second over the wall time | {numbers['pairsPerSecond']:.0f} |",
    f"| pairing time, first room to last room | {numbers['pairingSeconds']:.2f} s |",
    f"| **pairs per second while pairing** | **{numbers['pairsPerSecondWhilePairing']:.0f}** |",
    f"| users resolved per second (paired or expired) | {numbers['usersPerSecond']:.0f} |",
    f"| pgbench baseline: TPC-B-like, 8 clients, 2 threads, 20 s, scale 10 | **{tps:.0f} tps** |",
    "",
    "Invariants checked in the same run (the test fails otherwise): no user in two rooms, no room with a",
    "pair that had just skipped each other or with two bots, every member told about their room, every",
    "user in a room, still queued, or told they expired, and no undelivered match left in the outbox.",
    "",
    "A match costs one write transaction (consume the messages, write the room and members, record the",
    "outbox row) plus an acknowledgement, about two of pgbench's transactions, and each pass adds a",
    "lease and the skip and bot look-ups. The wall time also holds the tail: users left over at the end",
    "of a batch wait for their 2-second lease to end, and the last unpairable ones for the 8-second",
    "queue TTL before they are told they expired; the pairing time leaves that tail out.",
]
open("bench/RESULTS-postgres.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
