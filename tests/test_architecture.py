"""The layering holds: import-linter's contracts in pyproject.toml pass on the whole tree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 5 kept, 0 broken" in result.stdout


def test_console_never_imports_the_reference_server() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "nexus_console").rglob("*.py")
        if "import nexus_refserver" in path.read_text() or "from nexus_refserver" in path.read_text()
    ]
    assert offenders == []
