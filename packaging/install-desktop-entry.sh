#!/usr/bin/env bash
# Install the desktop entry and icon for the current user (after `pip install nexus-console`).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
apps="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
icons="${XDG_DATA_HOME:-$HOME/.local/share}/icons/hicolor/scalable/apps"
mkdir -p "$apps" "$icons"
install -m 644 "$here/nexus-console.desktop" "$apps/nexus-console.desktop"
install -m 644 "$here/../nexus_console/resources/icons/nexus-console.svg" "$icons/nexus-console.svg"
echo "installed $apps/nexus-console.desktop"
