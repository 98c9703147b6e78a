#!/usr/bin/env bash
# Stop test servers that a crashed or killed test run left behind. Only processes whose command line carries
# this checkout's marker directory are touched.
set -u
cd "$(dirname "$0")/.."
marker="pytest-of-$(id -un)"
for pid in $(pgrep -f "nexus_refserver|prometheus|gnome-keyring-daemon|dbus-daemon --session|Xvfb|postgres" 2>/dev/null); do
  if tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q "$marker"; then
    kill "$pid" 2>/dev/null && echo "reaped leftover test process $pid"
  fi
done
exit 0
