"""Two distributions from one repository: `nexus-console` (./pyproject.toml) carries no web server,
`nexus-refserver` (packaging/refserver/pyproject.toml) carries the reference server and its dependencies.

Checked twice: on the pyproject files themselves and on the metadata of the installed (editable)
distributions in the environment's site-packages, which scripts/setup.sh reinstalls whenever either pyproject
changes. (Only site-packages: the `*.egg-info` directories that builds leave at the repository root would
otherwise be found too, through the current directory on sys.path.)
"""

from __future__ import annotations

import asyncio
import importlib.metadata as md
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from nexus_console.services.demo_server import DemoServer, DemoServerError

ROOT = Path(__file__).resolve().parents[1]
SERVER_PYPROJECT = ROOT / "packaging" / "refserver" / "pyproject.toml"
# the web stack, and the server distribution that would bring it along
WEB_SERVER = {"fastapi", "uvicorn", "pyyaml", "starlette", "nexus-refserver"}


def _installed(name: str) -> md.Distribution:
    found = list(md.distributions(name=name, path=[sysconfig.get_paths()["purelib"]]))
    assert len(found) == 1, f"{name} is installed {len(found)} times in site-packages; run scripts/setup.sh"
    return found[0]


def _names(requirements: list[str]) -> set[str]:
    """Distribution names of requirement strings, whatever their extras or markers (`extra == "dev"` too)."""
    return {canonicalize_name(Requirement(text).name) for text in requirements}


def _project(path: Path) -> dict:
    return tomllib.loads(path.read_text())["project"]


def test_the_console_pyproject_declares_no_web_server_dependency() -> None:
    project = _project(ROOT / "pyproject.toml")
    assert project["name"] == "nexus-console"
    declared = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        declared += extra
    assert _names(declared) & WEB_SERVER == set()
    assert set(project["scripts"]) == {"nexus-console"}


def test_the_installed_console_requires_no_web_server() -> None:
    requires = _installed("nexus-console").requires or []
    assert requires, "nexus-console's metadata lists no requirement at all"
    assert _names(requires) & WEB_SERVER == set(), requires


def test_the_installed_reference_server_requires_its_web_stack() -> None:
    requires = _names(_installed("nexus-refserver").requires or [])
    assert {"fastapi", "uvicorn", "pyyaml", "sqlalchemy", "prometheus-client"} <= requires
    assert _names(_project(SERVER_PYPROJECT)["dependencies"]) == requires


def test_each_package_belongs_to_its_own_distribution() -> None:
    for name, package in (("nexus-console", "nexus_console"), ("nexus-refserver", "nexus_refserver")):
        top_level = _installed(name).read_text("top_level.txt")
        assert top_level is not None, f"{name}'s metadata has no top_level.txt"
        assert top_level.split() == [package]


def test_each_script_belongs_to_its_own_distribution() -> None:
    assert {ep.name for ep in _installed("nexus-console").entry_points} == {"nexus-console"}
    server_scripts = _installed("nexus-refserver").entry_points
    assert [(ep.name, ep.value) for ep in server_scripts] == [("nexus-refserver", "nexus_refserver.cli:main")]


def test_the_demo_launcher_says_how_to_install_a_missing_reference_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "nexus_refserver", None)  # importlib.util.find_spec answers None
    server = DemoServer(tmp_path / "demo")
    with pytest.raises(DemoServerError, match=r"nexus-refserver .*pip install \./packaging/refserver"):
        asyncio.run(server.start())
    assert server.proc is None
