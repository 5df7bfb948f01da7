#!/usr/bin/env bash
# Installs PostgreSQL from Debian packages (when missing), starts a throw-away cluster that
# listens on 127.0.0.1 only, creates a test role and database, and prints the URL to export:
#
#     export FLEET_TEST_POSTGRES_URL="$(bash .ci/postgres.sh)"
#
# Everything else goes to stderr. Idempotent: a cluster already running is reused.
# Settings: FLEET_PG_PORT (default 54329), FLEET_PG_DATA (default /tmp/fleet-pg).
# The cluster runs with fsync=off: it holds test data only. Stop it with
#     runuser -u postgres -- "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/pg_ctl" \
#         -D /tmp/fleet-pg stop
set -euo pipefail

PORT="${FLEET_PG_PORT:-54329}"
DATA="${FLEET_PG_DATA:-/tmp/fleet-pg}"
ROLE=fleet
PASSWORD=fleet
DB=fleet_test

if ! compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null; then
    echo "installing postgresql from Debian packages" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
fi
BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"

# PostgreSQL refuses to run as root: run its tools as the postgres user the package created.
as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if ! as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    if [ ! -f "$DATA/PG_VERSION" ]; then
        rm -rf "$DATA"
        mkdir -p "$DATA"
        [ "$(id -u)" = 0 ] && chown postgres:postgres "$DATA"
        as_pg "$BIN/initdb" -D "$DATA" -U postgres --auth-local=trust \
            --auth-host=scram-sha-256 --no-instructions >&2
    fi
    as_pg "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 start \
        -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DATA -c fsync=off" >&2
fi

psql_pg() { as_pg "$BIN/psql" -h "$DATA" -p "$PORT" -U postgres -v ON_ERROR_STOP=1 -qtA "$@"; }
if [ "$(psql_pg -c "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" != 1 ]; then
    psql_pg -c "CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD'" >&2
fi
if [ "$(psql_pg -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != 1 ]; then
    psql_pg -c "CREATE DATABASE $DB OWNER $ROLE" >&2
fi

echo "postgresql+psycopg://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DB"
