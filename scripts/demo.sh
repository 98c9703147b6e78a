#!/usr/bin/env bash
# Open the console on the bundled reference server with its demo scenario, logged in as the demo admin.
# On a machine without a display, render it on a private Xvfb screen once data has arrived, save a
# screenshot and exit (there is no screen to show a window on).
#
# The demo's data, DEMO_STACK (make demo DEMO_STACK=...):
#   auto      (default) the real stack when it is installed, else the embedded defaults
#   real      a PostgreSQL primary with two streaming replicas, Prometheus, Alertmanager and node exporter on
#             127.0.0.1 (scripts/demo_stack.py, in the user data dir); fails when something is missing
#   embedded  the reference server's SQLite files, no Prometheus or Alertmanager
# The real stack is stopped when the console exits (its data stays for the next run); a stack a killed run
# left behind is reused, and `.venv/bin/python scripts/demo_stack.py down` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
export QT_API=pyside6 PYQTGRAPH_QT_LIB=PySide6
DEMO_STACK=${DEMO_STACK:-auto}
unset NEXUS_DEMO_STACK
case "$DEMO_STACK" in
  auto | real | embedded) ;;
  *) echo "DEMO_STACK=$DEMO_STACK: use auto, real or embedded" >&2; exit 2 ;;
esac

stack() { "$VENV/bin/python" scripts/demo_stack.py "$@"; }
embedded="Demo data: embedded SQLite files, no Prometheus or Alertmanager"
if [ "$DEMO_STACK" = embedded ]; then
  echo "$embedded (DEMO_STACK=embedded)"
elif ! gaps=$(stack check); then
  if [ "$DEMO_STACK" = real ]; then
    echo "DEMO_STACK=real, but not installed: $gaps (make setup as root installs them)" >&2
    exit 1
  fi
  echo "$embedded (not installed: $gaps; make setup as root installs them)"
else
  # from here on, what `up` started (even half of it) is stopped when this script ends
  trap 'stack down || true' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  if stack_file=$(stack up); then
    export NEXUS_DEMO_STACK=$stack_file
    echo "Demo data: PostgreSQL primary + 2 streaming replicas, Prometheus, Alertmanager, node exporter" \
      "(stopped when the console exits; DEMO_STACK=embedded for SQLite files)"
  elif [ "$DEMO_STACK" = real ]; then
    echo "DEMO_STACK=real: the demo stack did not start (see above)" >&2
    exit 1
  else
    echo "$embedded: the real stack did not start (see above)"
  fi
fi

status=0
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  args=("$@")
  if [[ " $* " != *" --screenshot "* ]]; then args+=(--screenshot demo-screenshot.png); fi
  echo "No display found: rendering the console on a private Xvfb screen; see the screenshot it saves."
  xvfb-run -a -s "-screen 0 1600x1000x24 -nolisten tcp" "$VENV/bin/nexus-console" --demo "${args[@]}" || status=$?
else
  "$VENV/bin/nexus-console" --demo "$@" || status=$?
fi
exit "$status"
