"""Scenario files: faults scripted over simulated time, in TOML.

```toml
name = "demo"
description = "what happens"
[[fault]]
at_s = 30            # simulated seconds after the server starts
duration_s = 150     # optional; without it the fault stays
scope = "puabo-nuki-order-processor"
kind = "latency_ms"
value = 650          # when the kind takes one
```
`default` names the bundled demo, `none` means no faults, anything else is a path.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from nexus_refserver.telemetry.faults import (
    FaultBook,
    FaultError,
    parse_kind,
    validate_duration,
    validate_scope,
    validate_value,
)

FAULT_KEYS = {"at_s", "duration_s", "scope", "kind", "value"}
TOP_KEYS = {"name", "description", "fault"}


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the file and the fault."""


@dataclass(frozen=True, slots=True)
class ScriptedFault:
    at_s: float
    duration_s: float | None
    scope: str
    kind: str
    value: float | None


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    faults: tuple[ScriptedFault, ...]

    def schedule(self, book: FaultBook) -> None:
        """Add every scripted fault, timed from the book's clock start."""
        elapsed = book.clock.elapsed()
        for fault in self.faults:
            book.add(
                fault.scope,
                fault.kind,
                fault.value,
                duration_s=fault.duration_s,
                delay_s=max(0.0, fault.at_s - elapsed),
                source=f"scenario:{self.name}",
            )


NO_SCENARIO = Scenario("none", "no faults", ())


def bundled_scenario_text(name: str) -> str:
    return resources.files("nexus_refserver").joinpath("scenarios", f"{name}.toml").read_text("utf-8")


def load_scenario(spec: str) -> Scenario:
    """`none`, `default` (or another bundled name), or a path to a TOML file."""
    if spec == "none":
        return NO_SCENARIO
    path = Path(spec)
    if path.suffix == ".toml" or path.exists():
        try:
            text = path.read_text("utf-8")
        except OSError as error:
            raise ScenarioError(f"cannot read scenario file {spec}: {error.strerror or error}") from error
        return parse_scenario(text, origin=str(path), default_name=path.stem)
    try:
        text = bundled_scenario_text(spec)
    except (FileNotFoundError, OSError) as error:
        raise ScenarioError(f"no bundled scenario named {spec!r} and no such file") from error
    return parse_scenario(text, origin=f"bundled scenario {spec!r}", default_name=spec)


def parse_scenario(text: str, *, origin: str = "scenario", default_name: str = "scenario") -> Scenario:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"{origin}: not valid TOML: {error}") from error
    unknown = set(document) - TOP_KEYS
    if unknown:
        raise ScenarioError(f"{origin}: unknown top-level keys: {', '.join(sorted(unknown))}")
    name = document.get("name", default_name)
    description = document.get("description", "")
    if not isinstance(name, str) or not isinstance(description, str):
        raise ScenarioError(f"{origin}: 'name' and 'description' must be strings")
    entries = document.get("fault", [])
    if not isinstance(entries, list):
        raise ScenarioError(f"{origin}: 'fault' must be an array of tables ([[fault]])")
    return Scenario(name, description, tuple(_parse_fault(origin, i, e) for i, e in enumerate(entries, 1)))


def _parse_fault(origin: str, number: int, entry: object) -> ScriptedFault:
    where = f"{origin}, fault #{number}"
    if not isinstance(entry, dict):
        raise ScenarioError(f"{where}: must be a table")
    unknown = set(entry) - FAULT_KEYS
    if unknown:
        raise ScenarioError(f"{where}: unknown keys: {', '.join(sorted(unknown))}")
    missing = {"at_s", "scope", "kind"} - set(entry)
    if missing:
        raise ScenarioError(f"{where}: missing keys: {', '.join(sorted(missing))}")
    try:
        kind = parse_kind(entry["kind"])
        scope = validate_scope(entry["scope"], kind)
        value = validate_value(kind, entry.get("value"))
        at_s = validate_duration("at_s", entry["at_s"])
        duration_s = validate_duration("duration_s", entry.get("duration_s"))
    except FaultError as error:
        raise ScenarioError(f"{where}: {error}") from error
    assert at_s is not None
    return ScriptedFault(at_s, duration_s, scope, str(kind), value)
