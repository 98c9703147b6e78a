#!/usr/bin/env bash
# The whole check: layering contracts, lint, then every test. The real services the tests talk to
# (reference server, PostgreSQL primary + replica, Prometheus / Alertmanager / node exporter, gnome-keyring on a
# private D-Bus, Xvfb) are started by session fixtures on 127.0.0.1 and stopped when the run ends.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
export QT_API=pyside6 PYQTGRAPH_QT_LIB=PySide6 QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}

echo "== import contracts"
"$VENV/bin/lint-imports" --no-cache
echo "== ruff"
"$VENV/bin/ruff" check .
echo "== pytest"
set +e
# Two worker processes (pytest-xdist), a test module's tests on one worker (module fixtures start servers):
# most tests wait on servers and timers, so two workers on two cores take about 11 minutes instead of 14.
# PYTEST_WORKERS=0 runs everything in this process.
"$VENV/bin/python" -m pytest -p no:cacheprovider -n "${PYTEST_WORKERS:-2}" --dist loadfile \
  --durations=20 "$@"  # the slowest: the run must stay short
status=$?
set -e
# Nothing a test session started may outlive it.
bash scripts/reap.sh
exit $status
