#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL 15 with the project's schema applied.
#
#   scripts/with-postgres.sh swift test --filter PostgresTests
#
# Starts a fresh cluster (initdb in a temporary folder, a free TCP port on 127.0.0.1, the unix
# socket in the same folder), loads pgmq (the extension where the server has it, otherwise the
# stand-in under Tests/sql/) and the Realtime stand-in, applies deploy/supabase/migrations/*.sql in
# order, exports DATABASE_URL and POSTGRES_{HOSTNAME,PORT,USER,PASSWORD,DB}, runs the command, and
# always stops and removes the cluster. As root, the server runs as the user `postgres` (or
# `nobody`), since PostgreSQL refuses to run as root.
#
# Environment: PG_BIN (default /usr/lib/postgresql/15/bin), PG_KEEP=1 keeps the folder for a look.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pg_bin="${PG_BIN:-/usr/lib/postgresql/15/bin}"
if [[ ! -x "$pg_bin/initdb" ]]; then
    echo "with-postgres: no PostgreSQL 15 at $pg_bin (apt-get install -y postgresql-15)" >&2
    exit 2
fi
if [[ $# -eq 0 ]]; then
    echo "usage: scripts/with-postgres.sh COMMAND [ARG...]" >&2
    exit 2
fi

workdir="$(mktemp -d /tmp/matchmaker-pg.XXXXXX)"
as_owner=()
if [[ "$(id -u)" == 0 ]]; then
    owner=postgres
    id -u "$owner" >/dev/null 2>&1 || owner=nobody
    chown "$owner" "$workdir"
    as_owner=(runuser -u "$owner" --)
fi

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
user=matchmaker
password="test-$RANDOM$RANDOM"
database=matchmaker

cleanup() {
    local status=$?
    "${as_owner[@]}" "$pg_bin/pg_ctl" -D "$workdir/data" -m immediate -w stop >/dev/null 2>&1 || true
    if [[ "${PG_KEEP:-}" == 1 ]]; then
        echo "with-postgres: kept $workdir" >&2
    else
        rm -rf "$workdir"
    fi
    exit "$status"
}
trap cleanup EXIT INT TERM

printf '%s\n' "$password" >"$workdir/pwfile"
chmod 600 "$workdir/pwfile"
[[ ${#as_owner[@]} -gt 0 ]] && chown "$owner" "$workdir/pwfile"
"${as_owner[@]}" "$pg_bin/initdb" -D "$workdir/data" -U "$user" --pwfile="$workdir/pwfile" \
    --auth=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >"$workdir/initdb.log" 2>&1 \
    || { cat "$workdir/initdb.log" >&2; exit 1; }
"${as_owner[@]}" "$pg_bin/pg_ctl" -D "$workdir/data" -l "$workdir/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$workdir -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c timezone=UTC" \
    start >/dev/null || { cat "$workdir/server.log" >&2; exit 1; }

export PGHOST=127.0.0.1 PGPORT="$port" PGUSER="$user" PGPASSWORD="$password"
"$pg_bin/psql" -q -v ON_ERROR_STOP=1 -d postgres -c "create database $database" >/dev/null
export PGDATABASE="$database"

psql_file() { "$pg_bin/psql" -q -X -v ON_ERROR_STOP=1 -f "$1" >/dev/null; }
has_pgmq="$("$pg_bin/psql" -At -X -c "select count(*) from pg_available_extensions where name = 'pgmq'")"
if [[ "$has_pgmq" == 0 ]]; then
    psql_file "$root/Tests/sql/pgmq.sql"
fi
psql_file "$root/Tests/sql/realtime.sql"
for migration in "$root"/deploy/supabase/migrations/*.sql; do
    psql_file "$migration"
done

export DATABASE_URL="postgres://$user:$password@127.0.0.1:$port/$database"
export POSTGRES_HOSTNAME=127.0.0.1 POSTGRES_PORT="$port" POSTGRES_USER="$user" POSTGRES_PASSWORD="$password" POSTGRES_DB="$database"
export MATCHMAKER_SQL_ROOT="$root"
set +e
"$@"
status=$?
set -e
exit "$status"
