"""The desktop entry and the AppStream metainfo pass their validators, and agree with the package.

Why: software centres and desktop menus silently drop an entry that does not validate. Both validators come
from Debian packages (desktop-file-utils, appstream) that scripts/setup.sh installs.
"""

from __future__ import annotations

import configparser
import shutil
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from nexus_console import __version__

PACKAGING = Path(__file__).resolve().parents[2] / "packaging"
APP_ID = "io.nexus.console"
DESKTOP = PACKAGING / f"{APP_ID}.desktop"
METAINFO = PACKAGING / f"{APP_ID}.metainfo.xml"


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} is not installed: run scripts/setup.sh (Debian package {package})", pytrace=False
        )
    return path


def test_the_desktop_entry_validates_without_errors_or_warnings() -> None:
    result = subprocess.run(
        [_tool("desktop-file-validate", "desktop-file-utils"), str(DESKTOP)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    # desktop-file-validate exits 0 on warnings too: any output at all (error, warning, hint) fails
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), (
        result.stdout + result.stderr
    )


def test_the_metainfo_validates_even_pedantically() -> None:
    result = subprocess.run(
        [_tool("appstreamcli", "appstream"), "validate", "--no-net", "--pedantic", str(METAINFO)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation was successful." in result.stdout, result.stdout


def test_the_metadata_agrees_with_the_package() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]
    entry.read(DESKTOP, encoding="utf-8")
    desktop = entry["Desktop Entry"]
    root = ET.parse(METAINFO).getroot()
    assert root.findtext("id") == APP_ID
    assert root.find("launchable").text == DESKTOP.name  # type: ignore[union-attr]
    assert root.findtext("name") == desktop["Name"] == "Nexus Console"
    assert desktop["Exec"].split()[0] == root.findtext("provides/binary") == "nexus-console"
    icon = PACKAGING.parent / "nexus_console" / "resources" / "icons" / f"{desktop['Icon']}.svg"
    assert icon.exists(), icon
    assert next(r.get("version") for r in root.iter("release")) == __version__
    # AppStream spells pyproject's LicenseRef-Proprietary in lower case, as its own special identifier
    project = tomllib.loads((PACKAGING.parent / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert root.findtext("project_license") == "LicenseRef-proprietary"
    assert project["license"].lower() == "licenseref-proprietary"
