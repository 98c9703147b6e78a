#!/usr/bin/env bash
# Start a PostgreSQL primary and one or more streaming replicas on 127.0.0.1, without systemd.
# Idempotent: running it again starts only what is stopped and creates only what is missing.
#
# Environment (all optional):
#   PGBASE        data, sockets and pid records          (default: ./.pg, relative to the current directory)
#   P_PORT        primary port                           (default: 55432)
#   R_PORTS       replica ports, space separated          (default: "55433"; replicas are named replica1, replica2, ...)
#   PG_DATABASES  databases owned by the app role          (default: "ops")
#   APP_PW        password of the login role "app"        (default: apppw)
#   MONITOR_PW    password of the login role "nexus_monitor" (pg_monitor, no write grant) (default: monitorpw)
#   REPL_PW       password of the role "replicator"       (default: replpw)
#   PGOSUSER      OS user that runs the servers when this script runs as root (default: postgres)
#   PG_FSYNC      on|off; off is only for throwaway test clusters (default: on)
#   SHARED_BUFFERS                                         (default: 128MB)
#   PGBIN         PostgreSQL server binaries              (default: the newest /usr/lib/postgresql/*/bin)
# Prints one line per cluster: "<name> pid <pid> port <port>".
set -euo pipefail
PGBASE=${PGBASE:-$PWD/.pg}
P_PORT=${P_PORT:-55432}
R_PORTS=${R_PORTS:-55433}
PG_DATABASES=${PG_DATABASES:-ops}
APP_PW=${APP_PW:-apppw}
MONITOR_PW=${MONITOR_PW:-monitorpw}
REPL_PW=${REPL_PW:-replpw}
PGOSUSER=${PGOSUSER:-postgres}
PG_FSYNC=${PG_FSYNC:-on}
SHARED_BUFFERS=${SHARED_BUFFERS:-128MB}
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
PRIMARY=$PGBASE/primary
SOCK=$PGBASE/sock
RUN=$PGBASE/run

[ -x "$PGBIN/initdb" ] || { echo "PostgreSQL server binaries not found (install postgresql-15 or set PGBIN)" >&2; exit 1; }

mkdir -p "$PGBASE" "$SOCK" "$RUN"
if [ "$(id -u)" = 0 ]; then
  # initdb and postgres refuse to run as root
  id "$PGOSUSER" >/dev/null 2>&1 || useradd --system --home-dir "$PGBASE" --shell /usr/sbin/nologin "$PGOSUSER"
  chown "$PGOSUSER" "$PGBASE" "$SOCK" "$RUN"
  chmod 0755 "$PGBASE"
  as_pg() { runuser -u "$PGOSUSER" -- env PGPASSWORD="${PGPASSWORD:-}" "$@"; }
else
  as_pg() { "$@"; }
fi

running() { [ -f "$1/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$1" status >/dev/null 2>&1; }

start_cluster() {  # name datadir
  if ! running "$2"; then
    as_pg "$PGBIN/pg_ctl" -D "$2" -l "$RUN/$1.log" -w -t 60 start >/dev/null
  fi
  head -1 "$2/postmaster.pid" >"$RUN/$1.pid"
}

# ---------- primary ----------
if [ ! -f "$PRIMARY/PG_VERSION" ]; then
  as_pg "$PGBIN/initdb" -D "$PRIMARY" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >"$RUN/initdb.log"
  as_pg sh -c "cat >>'$PRIMARY/postgresql.conf'" <<CONF
# --- nexus scripts/pg-up.sh ---
listen_addresses = '127.0.0.1'
port = $P_PORT
unix_socket_directories = '$SOCK'
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
wal_keep_size = 256MB
hot_standby = on
shared_buffers = $SHARED_BUFFERS
max_wal_size = 2GB
fsync = $PG_FSYNC
# the console's Database pane reads the slowest statements; 256 lock slots a connection lets a busy test
# database hold 10,000 locks at once
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
max_locks_per_transaction = 256
CONF
  as_pg sh -c "echo 'host replication replicator 127.0.0.1/32 scram-sha-256' >>'$PRIMARY/pg_hba.conf'"
fi
start_cluster primary "$PRIMARY"
echo "primary pid $(cat "$RUN/primary.pid") port $P_PORT"

PSQL_P=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$P_PORT" -U postgres)
as_pg "${PSQL_P[@]}" -d postgres >/dev/null <<SQL
SET client_min_messages = warning;
DO \$\$BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'replicator') THEN
    CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD '$REPL_PW'; END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app') THEN
    CREATE ROLE app WITH LOGIN PASSWORD '$APP_PW'; END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'nexus_monitor') THEN
    CREATE ROLE nexus_monitor WITH LOGIN PASSWORD '$MONITOR_PW'; END IF;
END\$\$;
-- pg_monitor lets the app role read replication state (pg_stat_wal_receiver, lag columns)
GRANT pg_monitor TO app;
-- the Database pane's monitoring role: reads every statistics view, may write nothing
GRANT pg_monitor TO nexus_monitor;
SQL
for db in $PG_DATABASES; do
  echo "SELECT 'CREATE DATABASE $db OWNER app' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$db') \\gexec" \
    | as_pg "${PSQL_P[@]}" -d postgres >/dev/null
  # pg_stat_statements in every database but marketplace (the Database pane says plainly when it is missing)
  if [ "$db" != marketplace ]; then
    as_pg "${PSQL_P[@]}" -d "$db" -c "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
  fi
done
as_pg "${PSQL_P[@]}" -d postgres -c "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null

# ---------- replicas ----------
i=0
for port in $R_PORTS; do
  i=$((i + 1))
  name=replica$i
  dir=$PGBASE/$name
  if [ ! -f "$dir/PG_VERSION" ]; then
    # a leftover slot from a deleted replica would make `pg_basebackup -C` fail
    as_pg "${PSQL_P[@]}" -d postgres -tAc \
      "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '$name' AND NOT active" >/dev/null
    rm -rf "$dir"
    # -R writes standby.signal and primary_conninfo; -C -S keeps WAL on the primary for this replica
    PGPASSWORD=$REPL_PW as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$P_PORT" -U replicator \
      -D "$dir" -R -X stream -C -S "$name" -c fast
    # the copied postgresql.conf carries the primary's port
    as_pg sh -c "echo 'port = $port' >>'$dir/postgresql.auto.conf'"
  fi
  start_cluster "$name" "$dir"
  echo "$name pid $(cat "$RUN/$name.pid") port $port"
done
