#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL 15 set up as a live Supabase project running the app.
#
#   scripts/with-postgres.sh swift test --filter PostgresTests
#
# Starts a fresh cluster (initdb in a temporary folder, a free TCP port on 127.0.0.1, the unix
# socket in the same folder, TLS on with a throwaway self-signed certificate for `localhost` and
# 127.0.0.1; plain connections are still accepted), then loads, in order:
#   1. pgmq: the extension where the server has it, otherwise the upstream extension SQL shipped in
#      the `pgmq` Python package (pinned in Tests/sql/requirements.txt, installed into the
#      repository's .venv, which scripts/conformance.sh shares);
#   2. Tests/sql/app-schema.sql: the app's tables, Supabase's roles, `pgmq_public` and the queue
#      `stranger-queue`, as a live project has them;
#   3. Tests/sql/realtime.sql, the stand-in of `realtime.send`;
#   4. deploy/supabase/migrations/*.sql in order, twice (they must be idempotent).
# It exports DATABASE_URL and POSTGRES_{HOSTNAME,PORT,USER,PASSWORD,DB}, POSTGRES_TLS_ROOT_CERT (the
# server's certificate, its own root) and POSTGRES_TLS_OTHER_ROOT_CERT (a root that did not sign it),
# runs the command, and
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

# The upstream pgmq SQL from the pinned `pgmq` package in .venv (created if missing); prints its path.
# `find_spec` locates the package without importing it (its client needs libpq).
pgmq_sql() {
    local venv="$root/.venv" path version
    [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/Tests/sql/requirements.txt" >&2
    path="$("$venv/bin/python" -c 'import importlib.util, pathlib; print(pathlib.Path(importlib.util.find_spec("pgmq").submodule_search_locations[0]) / "sql")')"
    version="$(grep -v '^#' "$path/VERSION" | head -1)"
    if [[ "$version" != 1.13.0 ]]; then
        echo "with-postgres: expected the pgmq 1.13.0 SQL in $path, found ${version:-nothing}" >&2
        exit 1
    fi
    printf '%s\n' "$path/pgmq.sql"
}

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
# Throwaway certificates, valid for a day: the server's (self-signed) and another root that did not sign it.
for name in server other; do
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=localhost" \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$workdir/$name.key" -out "$workdir/$name.crt" >/dev/null 2>&1 \
        || { echo "with-postgres: openssl could not make a certificate" >&2; exit 1; }
done
chmod 600 "$workdir/server.key"
[[ ${#as_owner[@]} -gt 0 ]] && chown "$owner" "$workdir/server.key" "$workdir/server.crt"
chmod 644 "$workdir/server.crt" "$workdir/other.crt"
"${as_owner[@]}" "$pg_bin/pg_ctl" -D "$workdir/data" -l "$workdir/server.log" -w -t 30 \
    -o "-c ssl=on -c ssl_cert_file=$workdir/server.crt -c ssl_key_file=$workdir/server.key -c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$workdir -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c timezone=UTC" \
    start >/dev/null || { cat "$workdir/server.log" >&2; exit 1; }

export PGHOST=127.0.0.1 PGPORT="$port" PGUSER="$user" PGPASSWORD="$password"
"$pg_bin/psql" -q -v ON_ERROR_STOP=1 -d postgres -c "create database $database" >/dev/null
export PGDATABASE="$database"

psql_file() { PGOPTIONS="-c client_min_messages=warning" "$pg_bin/psql" -q -X -v ON_ERROR_STOP=1 -f "$1" >/dev/null; }
has_pgmq="$("$pg_bin/psql" -At -X -c "select count(*) from pg_available_extensions where name = 'pgmq'")"
if [[ "$has_pgmq" == 0 ]]; then
    pgmq_file="$(pgmq_sql)"
    psql_file "$pgmq_file"
else
    "$pg_bin/psql" -q -X -v ON_ERROR_STOP=1 -c "create extension pgmq" >/dev/null
fi
psql_file "$root/Tests/sql/app-schema.sql"
psql_file "$root/Tests/sql/realtime.sql"
for pass in 1 2; do
    for migration in "$root"/deploy/supabase/migrations/*.sql; do
        psql_file "$migration" || { echo "with-postgres: $(basename "$migration") failed on pass $pass" >&2; exit 1; }
    done
done

export DATABASE_URL="postgres://$user:$password@127.0.0.1:$port/$database"
export POSTGRES_HOSTNAME=127.0.0.1 POSTGRES_PORT="$port" POSTGRES_USER="$user" POSTGRES_PASSWORD="$password" POSTGRES_DB="$database"
export POSTGRES_TLS_ROOT_CERT="$workdir/server.crt" POSTGRES_TLS_OTHER_ROOT_CERT="$workdir/other.crt"
export MATCHMAKER_SQL_ROOT="$root"
set +e
"$@"
status=$?
set -e
exit "$status"
