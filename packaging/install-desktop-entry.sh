#!/usr/bin/env bash
# Install the desktop entry, its AppStream metainfo and the icon for the current user (after installing the
# console: `pip install nexus-console`, `pipx install`, or the bundle's nexus-console on PATH).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
share="${XDG_DATA_HOME:-$HOME/.local/share}"
apps="$share/applications"
metainfo="$share/metainfo"
icons="$share/icons/hicolor/scalable/apps"
mkdir -p "$apps" "$metainfo" "$icons"
install -m 644 "$here/io.nexus.console.desktop" "$apps/io.nexus.console.desktop"
install -m 644 "$here/io.nexus.console.metainfo.xml" "$metainfo/io.nexus.console.metainfo.xml"
install -m 644 "$here/../nexus_console/resources/icons/nexus-console.svg" "$icons/nexus-console.svg"
echo "installed $apps/io.nexus.console.desktop"
