#!/usr/bin/env bash
# The concurrency proof at full size, next to a pgbench baseline on the same throwaway server.
#
#   bench/postgres-concurrency/run.sh [USERS]      # default 10000
#
# One PostgreSQL 15 (scripts/with-postgres.sh) serves, in this order: pgbench's TPC-B-like
# read-write run (8 clients, 2 threads, 20 s, scale 10), then 8 matchers (each with its own
# connection pool) over USERS enqueued users, through the test
# `eightMatchersNeverDoubleMatchOrLoseAUser`, which also checks every invariant. Writes the numbers
# to bench/RESULTS-postgres.md. Build first: swift build --build-tests.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
users="${1:-10000}"
cd "$root"

"$root/scripts/with-postgres.sh" bash -c '
set -euo pipefail
users="$1"
out="$(mktemp)"
pg_bin=/usr/lib/postgresql/15/bin
"$pg_bin/pgbench" -i -s 10 -q >/dev/null 2>&1
tps="$("$pg_bin/pgbench" -c 8 -j 2 -T 20 -n 2>/dev/null | sed -n "s/^tps = \([0-9.]*\) .*/\1/p" | head -1)"
MATCHMAKER_CONCURRENCY_USERS="$users" MATCHMAKER_BENCH_OUT="$out" \
    swift test --skip-build --filter eightMatchersNeverDoubleMatchOrLoseAUser >"$out.log" 2>&1 \
    || { tail -40 "$out.log"; exit 1; }
python3 - "$out" "$tps" "$users" <<PY
import json, sys, datetime, platform, os
numbers = json.load(open(sys.argv[1]))
tps = float(sys.argv[2])
lines = [
    "# PostgreSQL backend: concurrency benchmark",
    "",
    "Measured by \`bench/postgres-concurrency/run.sh %s\` on %s (%d cores), PostgreSQL 15, debug build," % (sys.argv[3], platform.node(), os.cpu_count()),
    "on %s. One throwaway server (fsync off) serves both runs, one after the other." % datetime.date.today().isoformat(),
    "",
    "| what | value |",
    "|---|---|",
    "| users enqueued | %d (%d messages incl. re-enqueues after skips and duplicates; 5 %% bots) |" % (numbers["users"], numbers["messages"]),
    "| matchers | %d, each with its own connection pool |" % numbers["matchers"],
    "| rooms | %d |" % numbers["rooms"],
    "| expired with notice / still queued | %d / %d |" % (numbers["expired"], numbers["stillQueued"]),
    "| passes | %d |" % numbers["passes"],
    "| wall time | %.2f s |" % numbers["seconds"],
    "| **pairs per second** | **%.0f** |" % numbers["pairsPerSecond"],
    "| users resolved per second (paired or expired) | %.0f |" % numbers["usersPerSecond"],
    "| pgbench baseline, TPC-B-like, 8 clients, 20 s, scale 10 | **%.0f tps** |" % tps,
    "",
    "Invariants checked in the same run (the test fails otherwise): no user in two rooms, no room with",
    "a recently skipped pair or two bots, every member told about their room, every user in a room,",
    "still queued, or told they expired, and no undelivered match left in the outbox.",
    "",
    "Each match is one transaction (consume the messages, write the room and members, record the",
    "outbox row) plus an acknowledgement, so a pair costs about two write transactions next to",
    "pgbench's one; wall time also includes the passes' leases, skip and bot look-ups, and the",
    "lease waits of users left over at a batch's end.",
]
open("bench/RESULTS-postgres.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
' bench "$users"
