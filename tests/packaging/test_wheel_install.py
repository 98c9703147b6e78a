"""The console wheel as a user installs it: built from the repository, installed with its dependencies into a
clean virtualenv (not the project's), then run from there.

Why: the editable checkout hides packaging mistakes (a resource left out of the wheel, a dependency only the
dev extra brings, the reference server installed alongside). The installed `nexus-console` must print its
version and help, and take a screenshot of the Health pane from a reference server that runs from the
project venv (the console distribution does not carry the server; this checks it does not).

pip resolves the dependencies from its cache, the configured find-links and the index: a machine without
network and without those wheels fails here with pip's own message.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from nexus_console import __version__
from tests.packaging.smoke import check_help, check_screenshot, check_version, png_size, smoke_stack

ROOT = Path(__file__).resolve().parents[2]
PIP = ("-m", "pip", "--disable-pip-version-check")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@dataclass(frozen=True)
class CleanVenv:
    path: Path
    took_s: float

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def console(self) -> Path:
        return self.path / "bin" / "nexus-console"

    def base_env(self, home: Path) -> dict[str, str]:
        env = {
            "PATH": f"{self.path / 'bin'}:/usr/bin:/bin",
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "QT_QPA_PLATFORM": "offscreen",
        }
        for name in ("config", "cache", "data", "state"):
            env[f"XDG_{name.upper()}_HOME"] = str(home / name)
        return env


def _run(*command: str | Path, cwd: Path, timeout_s: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, cwd=cwd, timeout=timeout_s
    )


@pytest.fixture(scope="module")
def clean_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CleanVenv]:
    """The wheel built from the repository, installed with its dependencies into a fresh venv."""
    base = tmp_path_factory.mktemp("wheel-install")
    started = time.monotonic()
    # setuptools builds in build/ of the checkout and never empties build/lib: a module deleted since the last
    # build would still land in the wheel
    shutil.rmtree(ROOT / "build" / "lib", ignore_errors=True)
    built = _run(
        sys.executable, *PIP, "wheel", "--no-deps", "-w", base / "dist", ".", cwd=ROOT, timeout_s=300
    )
    assert built.returncode == 0, f"pip wheel failed:\n{built.stdout[-3000:]}\n{built.stderr[-3000:]}"
    wheels = sorted((base / "dist").glob("nexus_console-*.whl"))
    assert [w.name for w in wheels] == [f"nexus_console-{__version__}-py3-none-any.whl"], wheels
    venv = base / "venv"
    made = _run(sys.executable, "-m", "venv", venv, cwd=base, timeout_s=120)
    assert made.returncode == 0, f"python -m venv failed: {made.stderr[-3000:]}"
    clean = CleanVenv(venv, 0.0)
    installed = _run(clean.python, *PIP, "install", "-q", wheels[0], cwd=base, timeout_s=600)
    if installed.returncode != 0:
        pytest.fail(
            "pip could not install the console wheel with its dependencies into a clean venv (is the network "
            f"or a pip cache with PySide6 and the others there?):\n{installed.stderr[-3000:]}",
            pytrace=False,
        )
    yield CleanVenv(venv, time.monotonic() - started)


def test_the_clean_venv_has_the_console_and_no_server_or_checkout(
    clean_venv: CleanVenv, tmp_path: Path
) -> None:
    probe = (
        "import importlib.metadata as md, importlib.util, json, sys, nexus_console\n"
        "print(json.dumps({'file': nexus_console.__file__, 'no_site': sys.flags.no_site,\n"
        "  'found': {n: importlib.util.find_spec(n) is not None for n in\n"
        "            ('nexus_refserver', 'fastapi', 'uvicorn', 'starlette', 'yaml')},\n"
        "  'dists': sorted(d.metadata['Name'].lower() for d in md.distributions())}))\n"
    )
    result = _run(clean_venv.python, "-c", probe, cwd=tmp_path, timeout_s=60)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["file"].startswith(str(clean_venv.path)), "the console comes from the clean venv"
    assert seen["found"] == dict.fromkeys(
        ("nexus_refserver", "fastapi", "uvicorn", "starlette", "yaml"), False
    )
    assert "nexus-console" in seen["dists"]
    assert {"nexus-refserver", "fastapi", "uvicorn", "pyyaml"} & set(seen["dists"]) == set()
    cfg = (clean_venv.path / "pyvenv.cfg").read_text()
    assert "include-system-site-packages = false" in cfg


def test_version_and_help_from_the_clean_venv(clean_venv: CleanVenv, tmp_path: Path) -> None:
    env = clean_venv.base_env(tmp_path)
    assert check_version([str(clean_venv.console)], env) == f"nexus-console {__version__}"
    check_help([str(clean_venv.console)], env)


def test_screenshot_of_the_health_pane_from_a_separate_reference_server(
    clean_venv: CleanVenv, tmp_path: Path
) -> None:
    out = tmp_path / "health.png"
    with smoke_stack(tmp_path / "stack") as stack:
        check_screenshot(
            [str(clean_venv.console)], stack, out, path=f"{clean_venv.path / 'bin'}:/usr/bin:/bin"
        )
    width, height = png_size(out)
    assert width >= 640 and height >= 480
    print(f"wheel built and installed in {clean_venv.took_s:.1f} s; screenshot {width}x{height}")
