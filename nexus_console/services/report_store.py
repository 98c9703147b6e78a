"""Saved reports in `reports.toml` in the config directory (a file a person may edit, and the one the
headless `nexus-console report` command reads), written atomically."""

from __future__ import annotations

import tomllib
from pathlib import Path

import tomli_w

from nexus_console.domain.reports import ReportError, ReportSpec
from nexus_console.services.profiles import config_dir

REPORTS_FILE = "reports.toml"


class ReportStore:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or config_dir() / REPORTS_FILE

    def load(self) -> dict[str, ReportSpec]:
        """Every saved report by name; ReportError (a sentence) when the file cannot be read."""
        if not self.path.exists():
            return {}
        try:
            raw = tomllib.loads(self.path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ReportError(f"{self.path} is not valid TOML: {exc}") from None
        return {name: ReportSpec.from_toml(name, body) for name, body in raw.get("reports", {}).items()}

    def get(self, name: str) -> ReportSpec:
        reports = self.load()
        try:
            return reports[name]
        except KeyError:
            known = ", ".join(f"“{n}”" for n in sorted(reports)) or "none saved yet"
            raise ReportError(f"No report named “{name}” (known: {known}).") from None

    def save(self, spec: ReportSpec) -> None:
        reports = self.load()
        reports[spec.name] = spec
        self._write(reports)

    def delete(self, name: str) -> None:
        reports = self.load()
        if reports.pop(name, None) is not None:
            self._write(reports)

    def _write(self, reports: dict[str, ReportSpec]) -> None:
        doc = {"reports": {name: spec.to_toml() for name, spec in sorted(reports.items())}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(tomli_w.dumps(doc), encoding="utf-8")
        tmp.replace(self.path)
