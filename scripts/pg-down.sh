#!/usr/bin/env bash
# Stop clusters started by scripts/pg-up.sh under $PGBASE. Only the postmasters whose PID this project
# recorded in $PGBASE/run/<name>.pid are stopped (pg_ctl signals the PID in <datadir>/postmaster.pid,
# and it must match the record).
#
# Usage: pg-down.sh [--purge] [NAME...]
#   NAME     primary, replica1, replica2, ...; default: every recorded cluster, replicas first
#   --purge  also delete $PGBASE (only when every cluster is stopped)
set -uo pipefail
PGBASE=${PGBASE:-$PWD/.pg}
PGOSUSER=${PGOSUSER:-postgres}
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
RUN=$PGBASE/run
purge=0
names=()
for arg in "$@"; do
  case "$arg" in
    --purge) purge=1 ;;
    *) names+=("$arg") ;;
  esac
done
if [ ${#names[@]} -eq 0 ]; then
  for d in "$PGBASE"/replica*; do [ -d "$d" ] && names+=("$(basename "$d")"); done
  names+=(primary)
fi
if [ "$(id -u)" = 0 ]; then
  as_pg() { runuser -u "$PGOSUSER" -- "$@"; }
else
  as_pg() { "$@"; }
fi
for name in "${names[@]}"; do
  dir=$PGBASE/$name
  if [ ! -f "$dir/postmaster.pid" ]; then
    echo "$name not running"
    rm -f "$RUN/$name.pid"
    continue
  fi
  pid=$(head -1 "$dir/postmaster.pid")
  recorded=$(cat "$RUN/$name.pid" 2>/dev/null || echo "")
  if [ "$pid" != "$recorded" ]; then
    echo "$name: postmaster pid $pid was not started by pg-up.sh (recorded: ${recorded:-none}); left alone" >&2
    continue
  fi
  as_pg "$PGBIN/pg_ctl" -D "$dir" -m fast -w -t 60 stop >/dev/null && echo "stopped $name (pid $pid)"
  rm -f "$RUN/$name.pid"
done
if [ $purge = 1 ]; then
  if ls "$RUN"/*.pid >/dev/null 2>&1; then
    echo "not purging $PGBASE: some clusters are still recorded as running" >&2
    exit 1
  fi
  rm -rf "$PGBASE"
  echo "purged $PGBASE"
fi
