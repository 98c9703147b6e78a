#!/usr/bin/env bash
# Open the console on the bundled reference server with its demo scenario, logged in as the demo admin.
# On a machine without a display, render it on a private Xvfb screen once data has arrived, save a
# screenshot and exit (there is no screen to show a window on).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
export QT_API=pyside6 PYQTGRAPH_QT_LIB=PySide6
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  args=("$@")
  if [[ " $* " != *" --screenshot "* ]]; then args+=(--screenshot demo-screenshot.png); fi
  echo "No display found: rendering the console on a private Xvfb screen; see the screenshot it saves."
  exec xvfb-run -a -s "-screen 0 1600x1000x24 -nolisten tcp" "$VENV/bin/nexus-console" --demo "${args[@]}"
fi
exec "$VENV/bin/nexus-console" --demo "$@"
