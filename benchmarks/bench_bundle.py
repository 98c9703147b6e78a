"""The standalone bundle (PyInstaller, dist/nexus-console/): process start to first paint.

Measured exactly as `first_frame_s` in bench_runtime.py (the console signs in from a refresh token in a real
gnome-keyring on a private D-Bus bus, `--screenshot`, the "first frame painted at epoch" log line against
the process start), and in the same run the venv console (`python -m nexus_console`) the same way as the
baseline. Both run with the same minimal environment (PATH=/usr/bin:/bin, their own HOME and XDG dirs,
offscreen) against one reference server with the default scenario. Without a bundle in dist/, it is built
first (scripts/package.sh --bundle-only, about half a minute).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.packaging.smoke import FIRST_FRAME, smoke_stack

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "dist" / "nexus-console" / "nexus-console"
RUNS = 3


def _first_frame(command: list[str], env: dict[str, str], config: Path, shot: Path) -> float:
    started = time.time()
    result = subprocess.run(
        [*command, "--config", str(config), "--screenshot", str(shot)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=env["HOME"],
    )
    match = FIRST_FRAME.search(result.stderr)
    if result.returncode != 0 or match is None:
        raise RuntimeError(f"console run failed ({result.returncode}): {result.stderr[-2000:]}")
    return float(match.group(1)) - started


def _ensure_bundle() -> str:
    if BUNDLE.exists():
        return "bundle as built"
    subprocess.run(["bash", str(ROOT / "scripts" / "package.sh"), "--bundle-only"], check=True, cwd=ROOT)
    return "bundle built for this run"


def run() -> list[dict[str, Any]]:
    built = _ensure_bundle()
    load_before = os.getloadavg()[0]
    commands = {"bundle": [str(BUNDLE)], "venv": [sys.executable, "-m", "nexus_console"]}
    samples: dict[str, list[float]] = {name: [] for name in commands}
    with tempfile.TemporaryDirectory(prefix="bench-bundle-") as tmp:
        base = Path(tmp)
        with smoke_stack(base / "stack", server_args=("--scenario", "default")) as stack:
            for run_index in range(RUNS):
                for name, command in commands.items():  # alternating, so both see the same machine
                    stack.remember_sign_in()
                    env = stack.env()
                    home = base / f"home-{name}"  # each its own cache: the first run starts empty
                    env["HOME"] = str(home)
                    for key in ("config", "cache", "data", "state"):
                        env[f"XDG_{key.upper()}_HOME"] = str(home / key)
                    home.mkdir(exist_ok=True)
                    shot = base / f"{name}-{run_index}.png"
                    samples[name].append(_first_frame(command, env, stack.config, shot))
    bundle, venv = samples["bundle"], samples["venv"]
    bundle_text, venv_text = (", ".join(f"{s:.2f}" for s in runs) for runs in (bundle, venv))
    return [
        {
            "name": "bundle_first_frame_s",
            "value": round(statistics.median(bundle), 2),
            "unit": "s",
            "target": "<= 1.5",
            "baseline": {"name": "bundle_venv_first_frame_s", "value": round(statistics.median(venv), 2)},
            "note": "the standalone bundle (dist/nexus-console), process start to first paint of the main "
            f"window, signed in from the keychain; median of {RUNS} ({bundle_text}; venv console "
            f"{venv_text}), first run of each with an empty cache; "
            f"{built}; load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after, on "
            f"{os.cpu_count()} cores",
        }
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
