"""Smoke checks of an installed console (a wheel in a clean venv, a pipx install, the PyInstaller bundle).

Why: an installed console differs from the editable checkout (missing resources, a forgotten dependency, a
server that sneaks in), and only running the installed `nexus-console` shows it. Each check runs the
installed executable in a minimal environment (no project venv on PATH, no PYTHONPATH) against the reference
server, which runs from the project venv because the console distribution does not carry it.

The console signs in the way a user's remembered sign-in works, and the way the first-frame benchmark does
it: a refresh token in a real gnome-keyring on a private D-Bus session bus, handed to the console only as
DBUS_SESSION_BUS_ADDRESS (no password in argv, the environment or a file).

Also a command line for scripts/package.sh:
    python -m tests.packaging.smoke [--no-screenshot] [--label NAME] -- EXECUTABLE [ARGS...]
prints one PASS/FAIL line per check and exits non-zero on a failure.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from nexus_console import __version__
from nexus_console.services.demo_server import DEMO_EMAIL, DEMO_PASSWORD
from tests.support.refserver import SESSION_PIDS, RefServer
from tests.support.secret_service import store_refresh_token
from tests.support.xvfb import Xvfb

PROFILE = "smoke"
KEYCHAIN_SERVICE = f"nexus-console:{PROFILE}"
KEYRING_UNLOCK = "smoke-keyring-unlock"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FIRST_FRAME = re.compile(r"first frame painted at epoch ([0-9.]+)")
SERVER_ARGS = ("--seed", "7", "--scale", "0.02", "--scenario", "none")


class SmokeFailure(AssertionError):
    pass


@dataclass
class SmokeStack:
    """A reference server, a private unlocked keyring holding a refresh token, and a profiles file."""

    base: Path
    server: RefServer
    bus_address: str
    config: Path

    def env(self, path: str = "/usr/bin:/bin", display: str | None = None) -> dict[str, str]:
        """The whole environment of a console run: nothing inherited from the caller. Offscreen, or on the
        X display `display` (xcb)."""
        home = self.base / "home"
        env = {
            "PATH": path,
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "QT_QPA_PLATFORM": "offscreen",
            "XDG_RUNTIME_DIR": str(self.base / "run"),
            "DBUS_SESSION_BUS_ADDRESS": self.bus_address,
            "PYTHONUNBUFFERED": "1",
        }
        for name in ("config", "cache", "data", "state"):
            env[f"XDG_{name.upper()}_HOME"] = str(home / name)
        if display is not None:
            env.update(QT_QPA_PLATFORM="xcb", DISPLAY=display)
        return env

    def remember_sign_in(self) -> None:
        """Sign in as the demo admin and keep the refresh token in the keyring, as "Remember me" does."""
        with httpx.Client(trust_env=False, timeout=10) as client:
            response = client.post(
                f"{self.server.base_url}/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}
            )
            response.raise_for_status()
            token = response.json()["refresh_token"]
        store_refresh_token(self.bus_address, KEYCHAIN_SERVICE, token)


def _stop(proc: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    SESSION_PIDS.discard(proc.pid)


@contextlib.contextmanager
def smoke_stack(base: Path, server_args: Sequence[str] = SERVER_ARGS) -> Iterator[SmokeStack]:
    """Start everything a console smoke run needs under `base`; stop it all on exit."""
    for tool in ("dbus-daemon", "gnome-keyring-daemon"):
        if shutil.which(tool) is None:
            raise SmokeFailure(
                f"{tool} is not installed: run scripts/setup.sh (packages dbus, gnome-keyring)"
            )
    home, runtime = base / "home", base / "run"
    for path in (home, runtime):
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(0o700)
    server = RefServer(base / "refserver", *server_args, session_owned=True)
    server.start()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "XDG_RUNTIME_DIR": str(runtime)}
    bus = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    SESSION_PIDS.add(bus.pid)
    keyring_daemon: subprocess.Popen[bytes] | None = None
    try:
        assert bus.stdout is not None
        address = bus.stdout.readline().strip()
        keyring_daemon = subprocess.Popen(
            ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=dict(env, DBUS_SESSION_BUS_ADDRESS=address),
        )
        SESSION_PIDS.add(keyring_daemon.pid)
        assert keyring_daemon.stdin is not None
        keyring_daemon.stdin.write(KEYRING_UNLOCK.encode())
        keyring_daemon.stdin.close()
        config = base / "profiles.toml"
        config.write_text(
            f'default = "{PROFILE}"\n\n[profiles.{PROFILE}]\n'
            f'api_base_url = "{server.base_url}"\nemail = "{DEMO_EMAIL}"\n',
            encoding="utf-8",
        )
        stack = SmokeStack(base, server, address, config)
        stack.remember_sign_in()
        yield stack
    finally:
        if keyring_daemon is not None:
            _stop(keyring_daemon)
        _stop(bus)
        if bus.stdout is not None:
            bus.stdout.close()
        server.stop()


def run(
    command: Sequence[str], env: dict[str, str], timeout_s: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(command),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env=env,
        stdin=subprocess.DEVNULL,
        cwd=env["HOME"],
    )


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk; SmokeFailure if the file is no PNG."""
    if not path.exists():
        raise SmokeFailure(f"no screenshot at {path}")
    head = path.read_bytes()[:24]
    if head[:8] != PNG_MAGIC or head[12:16] != b"IHDR":
        raise SmokeFailure(f"{path} is not a PNG")
    return struct.unpack(">II", head[16:24])


def check_version(command: Sequence[str], env: dict[str, str]) -> str:
    result = run([*command, "--version"], env)
    expected = f"nexus-console {__version__}"
    if result.returncode != 0 or result.stdout.strip() != expected:
        raise SmokeFailure(
            f"--version: exit {result.returncode}, stdout {result.stdout!r} (expected {expected!r}); "
            f"stderr: {result.stderr[-2000:]}"
        )
    return result.stdout.strip()


def check_help(command: Sequence[str], env: dict[str, str]) -> str:
    result = run([*command, "--help"], env)
    if result.returncode != 0 or "--demo" not in result.stdout:
        raise SmokeFailure(f"--help: exit {result.returncode}; stdout: {result.stdout[-2000:]}")
    return "exit 0, mentions --demo"


def check_screenshot(
    command: Sequence[str],
    stack: SmokeStack,
    out: Path,
    path: str = "/usr/bin:/bin",
    display: str | None = None,
) -> float:
    """`--screenshot OUT --pane Health` against the reference server; returns seconds to the first frame."""
    started = time.time()
    result = run(
        [*command, "--config", str(stack.config), "--screenshot", str(out), "--pane", "Health"],
        stack.env(path, display),
        timeout_s=180,
    )
    if result.returncode != 0:
        raise SmokeFailure(f"--screenshot: exit {result.returncode}; stderr: {result.stderr[-3000:]}")
    width, height = png_size(out)
    if width < 640 or height < 480 or out.stat().st_size < 10_000:
        raise SmokeFailure(f"--screenshot: implausible PNG {width}x{height}, {out.stat().st_size} bytes")
    if "opened on pane Health" not in result.stderr:
        raise SmokeFailure(f"--screenshot did not open the Health pane; stderr: {result.stderr[-3000:]}")
    match = FIRST_FRAME.search(result.stderr)
    if match is None:
        raise SmokeFailure(f"--screenshot logged no first frame; stderr: {result.stderr[-3000:]}")
    return float(match.group(1)) - started


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="smoke-check an installed nexus-console")
    parser.add_argument("--label", default="console", help="what is checked, for the PASS/FAIL lines")
    parser.add_argument("--path", default="/usr/bin:/bin", help="PATH of the console runs")
    parser.add_argument("--no-screenshot", action="store_true", help="only --version and --help")
    parser.add_argument("--out", type=Path, help="keep the screenshot here (default: a temporary file)")
    parser.add_argument("--xvfb", action="store_true", help="also a screenshot on a real X display (Xvfb)")
    parser.add_argument("command", nargs="+", help="the console's executable (and leading arguments)")
    args = parser.parse_args(argv)
    failures = 0
    with tempfile.TemporaryDirectory(prefix="nexus-smoke-") as tmp:
        base = Path(tmp)
        base_env = {
            "PATH": args.path,
            "HOME": str(base),
            "LANG": "C.UTF-8",
            "QT_QPA_PLATFORM": "offscreen",
            **{f"XDG_{n.upper()}_HOME": str(base / n) for n in ("config", "cache", "data", "state")},
        }
        checks = [("--version", check_version), ("--help", check_help)]
        for name, check in checks:
            try:
                print(f"PASS {args.label} {name}: {check(args.command, base_env)}", flush=True)
            except (SmokeFailure, OSError, subprocess.TimeoutExpired) as exc:
                failures += 1
                print(f"FAIL {args.label} {name}: {exc}", flush=True)
        if not args.no_screenshot:
            current = "--screenshot"
            try:
                with smoke_stack(base / "stack") as stack:
                    out = args.out.resolve() if args.out else base / "health.png"
                    seconds = check_screenshot(args.command, stack, out, args.path)
                    width, height = png_size(out)
                    print(
                        f"PASS {args.label} --screenshot --pane Health: {width}x{height} PNG, "
                        f"{out.stat().st_size} bytes, first frame {seconds:.2f} s",
                        flush=True,
                    )
                    if args.xvfb:
                        current = "--screenshot on Xvfb (xcb)"
                        xvfb = Xvfb()
                        display = xvfb.start()
                        try:
                            x_out = out.with_name(f"{out.stem}-xcb.png")
                            seconds = check_screenshot(args.command, stack, x_out, args.path, display)
                        finally:
                            xvfb.stop()
                        width, height = png_size(x_out)
                        print(
                            f"PASS {args.label} --screenshot --pane Health on Xvfb (xcb): {width}x{height} "
                            f"PNG, first frame {seconds:.2f} s",
                            flush=True,
                        )
            except (SmokeFailure, OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
                failures += 1
                print(f"FAIL {args.label} {current}: {exc}", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
