#!/usr/bin/env bash
# Stop test servers that a crashed or killed test run left behind: only processes whose command line points
# into a pytest temporary directory or a test PostgreSQL cluster (/tmp/nexus-pg-*) are touched.
set -u
for pid in $(pgrep -f "nexus_refserver|prometheus|gnome-keyring-daemon|dbus-daemon --session|Xvfb|postgres -D" 2>/dev/null); do
  cmd=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null) || continue
  case "$cmd" in
    *postgres\ -D\ /tmp/nexus-pg-*) kill -INT "$pid" 2>/dev/null && echo "reaped leftover test PostgreSQL $pid" ;;
    *pytest-of-*) kill "$pid" 2>/dev/null && echo "reaped leftover test process $pid" ;;
  esac
done
exit 0
