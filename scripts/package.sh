#!/usr/bin/env bash
# `make package`: build every artefact of the console and smoke-check each one as a user would get it.
#   1. wheels      dist/nexus_console-<v>-py3-none-any.whl, dist/nexus_refserver-<v>-py3-none-any.whl
#   2. metadata    the desktop entry (desktop-file-validate) and AppStream metainfo (appstreamcli validate)
#   3. pipx        the console wheel installed by pipx into a throwaway PIPX_HOME: --version, --help
#   4. bundle      PyInstaller one-folder dist/nexus-console/ and dist/nexus-console-<v>-linux-x86_64.tar.gz
#   5. bundle run  the bundle's executable with nothing of the project venv in its environment (PATH=/usr/bin:/bin,
#                  its own HOME and XDG dirs): --version, --help, --screenshot of the Health pane from a reference
#                  server (run from the project venv) offscreen, and again on a real X display (Xvfb)
# Prints PASS/FAIL per check and exits non-zero if any failed. `--bundle-only` does step 4 only (the benchmark
# uses it to build a missing bundle).
# The wheel smoke test (clean venv, screenshot) is part of `make test`: tests/packaging/test_wheel_install.py.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY="$VENV/bin/python"
export QT_API=pyside6 PYQTGRAPH_QT_LIB=PySide6

bundle_only=0
[ "${1:-}" = "--bundle-only" ] && bundle_only=1

version=$("$PY" -c 'import nexus_console; print(nexus_console.__version__)')
failures=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
step() { echo; echo "== $*"; }
work=$(mktemp -d /tmp/nexus-package-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p dist

build_bundle() {
  step "bundle: PyInstaller one folder in dist/nexus-console/"
  rm -rf dist/nexus-console
  if "$VENV/bin/pyinstaller" --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller \
      packaging/pyinstaller/nexus-console.spec > "$work/pyinstaller.log" 2>&1; then
    pass "bundle built: dist/nexus-console ($(du -sh dist/nexus-console | cut -f1))"
  else
    tail -40 "$work/pyinstaller.log"
    fail "bundle build (PyInstaller), log above"
    return 1
  fi
  if find dist/nexus-console -path '*nexus_refserver*' -o -name 'fastapi' -o -name 'uvicorn' | grep -q .; then
    fail "the bundle carries the reference server or its web stack"
  else
    pass "the bundle carries no reference server, FastAPI or uvicorn"
  fi
  tarball="dist/nexus-console-$version-linux-x86_64.tar.gz"
  tar -C dist -czf "$tarball" nexus-console
  pass "tarball $tarball ($(du -h "$tarball" | cut -f1))"
}

if [ "$bundle_only" = 1 ]; then
  build_bundle || true
  exit $((failures > 0))
fi

step "wheels into dist/"
rm -f dist/nexus_console-*.whl dist/nexus_refserver-*.whl
rm -rf build/lib  # setuptools never empties it: a module deleted since the last build would land in the wheel
if "$VENV/bin/pip" wheel -q --disable-pip-version-check --no-deps -w dist . ./packaging/refserver \
    > "$work/wheel.log" 2>&1; then
  pass "wheels: $(cd dist && ls nexus_console-*.whl nexus_refserver-*.whl | tr '\n' ' ')"
else
  cat "$work/wheel.log"
  fail "pip wheel"
fi
wheel="dist/nexus_console-$version-py3-none-any.whl"

step "desktop entry and AppStream metainfo"
if ! command -v desktop-file-validate > /dev/null || ! command -v appstreamcli > /dev/null; then
  fail "desktop-file-validate or appstreamcli missing: run scripts/setup.sh (desktop-file-utils, appstream)"
else
  out=$(desktop-file-validate packaging/io.nexus.console.desktop 2>&1) && [ -z "$out" ] \
    && pass "desktop-file-validate packaging/io.nexus.console.desktop: no error, warning or hint" \
    || fail "desktop-file-validate: $out"
  appstreamcli validate --no-net --pedantic packaging/io.nexus.console.metainfo.xml > "$work/as.log" 2>&1 \
    && pass "appstreamcli validate --no-net --pedantic packaging/io.nexus.console.metainfo.xml" \
    || { cat "$work/as.log"; fail "appstreamcli validate"; }
fi

step "pipx install of the console wheel (throwaway PIPX_HOME)"
if ! command -v pipx > /dev/null; then
  fail "pipx is not installed: run scripts/setup.sh (Debian package pipx)"
elif [ ! -f "$wheel" ]; then
  fail "pipx: no wheel $wheel to install"
else
  export PIPX_HOME="$work/pipx" PIPX_BIN_DIR="$work/pipx-bin" PIPX_MAN_DIR="$work/pipx-man"
  if pipx install --pip-args=--disable-pip-version-check "$wheel" > "$work/pipx.log" 2>&1; then
    pass "pipx install $wheel"
    "$PY" -m tests.packaging.smoke --label pipx --no-screenshot --path "$PIPX_BIN_DIR:/usr/bin:/bin" -- \
      "$PIPX_BIN_DIR/nexus-console" || failures=$((failures + 1))
  else
    cat "$work/pipx.log"
    fail "pipx install (log above)"
  fi
  unset PIPX_HOME PIPX_BIN_DIR PIPX_MAN_DIR
fi

if build_bundle; then
  step "bundle smoke: dist/nexus-console/nexus-console without the project venv"
  "$PY" -m tests.packaging.smoke --label bundle --xvfb --out "$work/bundle-health.png" -- \
    "$PWD/dist/nexus-console/nexus-console" || failures=$((failures + 1))
fi

echo
if [ "$failures" -gt 0 ]; then
  echo "make package: $failures check(s) FAILED"
  exit 1
fi
echo "make package: every check PASSED"
