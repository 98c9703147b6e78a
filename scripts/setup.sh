#!/usr/bin/env bash
# Install what the console, the reference server and the test suite need, idempotently:
#   Debian packages (Qt runtime libraries, Xvfb, PostgreSQL 15, Prometheus stack, D-Bus, gnome-keyring,
#   a system tray and PulseAudio),
#   a virtualenv in .venv with the console (nexus-console, ./pyproject.toml) installed in editable mode with
#   its dev extra, and the reference server (nexus-refserver, ./packaging/refserver) in editable mode.
# As root it installs missing packages itself; otherwise it prints exactly what is missing and the one
# command that installs it, and stops.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

APT_QT_OFFSCREEN="libegl1 libgl1 libfontconfig1 libfreetype6 libdbus-1-3 libglib2.0-0 libxkbcommon0 fonts-dejavu-core"
APT_QT_XCB="libx11-xcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0
 libxcb-render0 libxcb-shape0 libxcb-shm0 libxcb-sync1 libxcb-util1 libxcb-xfixes0 libxcb-xkb1 libxcb-glx0
 libxkbcommon-x11-0 xvfb xauth x11-utils"
APT_SERVICES="postgresql-15 prometheus prometheus-alertmanager prometheus-node-exporter dbus gnome-keyring"
# pdftotext: the tests read the exported post-mortem PDF; desktop-file-validate, appstreamcli and pipx: the
# packaging checks (tests/packaging, scripts/package.sh)
APT_TOOLS="poppler-utils desktop-file-utils appstream pipx"
# the alert notifications on the real things: an XEmbed system tray on Xvfb, and a PulseAudio null sink
# (paplay plays the console's sounds, parec records them in the tests)
APT_DESKTOP="trayer pulseaudio pulseaudio-utils"
APT_PYTHON="python3 python3-venv"
PACKAGES=$(echo $APT_QT_OFFSCREEN $APT_QT_XCB $APT_SERVICES $APT_TOOLS $APT_DESKTOP)

missing_packages() {
  local pkg missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  echo "${missing[@]:-}"
}

python_ok() { command -v "$PYTHON" >/dev/null && "$PYTHON" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }

missing=$(missing_packages $PACKAGES)
python_ok || missing="$missing $APT_PYTHON"
missing=$(echo $missing)

if [ -n "$missing" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "Missing Debian packages: $missing"
    echo "Install them with:"
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends $missing"
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Package scripts must not start daemons, and PostgreSQL must not create its default cluster on 5432:
  # the project starts its own servers on 127.0.0.1 and stops them again.
  if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; fi
  mkdir -p /etc/postgresql-common/createcluster.d
  echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/50-no-main.conf
  echo "Installing Debian packages: $missing"
  apt-get update -q
  apt-get install -y -q --no-install-recommends $missing
  python_ok || PYTHON=python3
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "Creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.installed-$(cat pyproject.toml packaging/refserver/pyproject.toml | sha1sum | cut -c1-12)"
if [ ! -e "$stamp" ]; then
  echo "Installing the console and the reference server into $VENV"
  # one after the other: replacing an older nexus-console that still carried nexus-refserver's script must
  # not remove the script the reference server's own install has just written
  "$VENV/bin/pip" install -q --disable-pip-version-check -e ".[dev]"
  "$VENV/bin/pip" install -q --disable-pip-version-check -e ./packaging/refserver
  rm -f "$VENV"/.installed-*
  touch "$stamp"
fi
