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
[[incident]]         # optional: the server declares an incident itself
at_s = 45
title = "Order processor failing"
severity = "high"    # critical | high | medium | low
services = ["puabo-nuki-order-processor"]
note = "why"         # optional: a custom timeline entry
summary = "..."      # optional
created_by = "oncall@nexus.test"  # optional; this is the default
[[attack]]           # optional: an attack played into the security event streams
at_s = 30
kind = "brute_force" # see nexus_refserver.security_attacks.ATTACK_KINDS
```
`default` names the bundled demo, `none` means no faults, anything else is a path.
"""

from __future__ import annotations

import tomllib
from collections.abc import Set
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from nexus_refserver.security_attacks import ATTACK_KINDS
from nexus_refserver.telemetry.catalog import CATALOG_BY_NAME, DATABASES
from nexus_refserver.telemetry.faults import (
    DB_SCOPE_PREFIX,
    FaultBook,
    FaultError,
    parse_kind,
    validate_duration,
    validate_scope,
    validate_value,
)

FAULT_KEYS = {"at_s", "duration_s", "scope", "kind", "value"}
TOP_KEYS = {"name", "description", "fault", "incident", "attack"}
ATTACK_KEYS = {"at_s", "kind"}
INCIDENT_KEYS = {"at_s", "title", "severity", "services", "note", "summary", "created_by"}
SEVERITIES = ("critical", "high", "medium", "low")
SCENARIO_OPERATOR = "oncall@nexus.test"


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
class ScriptedIncident:
    """An incident the server declares itself `at_s` simulated seconds after it starts."""

    at_s: float
    title: str
    severity: str
    services: tuple[str, ...]
    note: str | None = None
    summary: str = ""
    created_by: str = SCENARIO_OPERATOR


@dataclass(frozen=True, slots=True)
class ScriptedAttack:
    """An attack the server starts in the security streams `at_s` simulated seconds after it starts."""

    at_s: float
    kind: str


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    faults: tuple[ScriptedFault, ...]
    incidents: tuple[ScriptedIncident, ...] = ()
    attacks: tuple[ScriptedAttack, ...] = ()

    def alert_services(self) -> set[str]:
        """The services the scenario's alerts can name: its faulted services, a faulted database's
        primary and replica, and its incidents' services."""
        names = {service for incident in self.incidents for service in incident.services}
        for fault in self.faults:
            if fault.scope.startswith(DB_SCOPE_PREFIX):
                database = fault.scope.removeprefix(DB_SCOPE_PREFIX)
                names |= {f"postgres-{database}", f"postgres-{database}-replica"}
            elif fault.scope in CATALOG_BY_NAME:
                names.add(fault.scope)
        return names

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
    incidents = document.get("incident", [])
    if not isinstance(incidents, list):
        raise ScenarioError(f"{origin}: 'incident' must be an array of tables ([[incident]])")
    attacks = document.get("attack", [])
    if not isinstance(attacks, list):
        raise ScenarioError(f"{origin}: 'attack' must be an array of tables ([[attack]])")
    return Scenario(
        name,
        description,
        tuple(_parse_fault(origin, i, e) for i, e in enumerate(entries, 1)),
        tuple(_parse_incident(origin, i, e) for i, e in enumerate(incidents, 1)),
        tuple(_parse_attack(origin, i, e) for i, e in enumerate(attacks, 1)),
    )


def _table(where: str, entry: object, known: Set[str], required: Set[str]) -> dict[str, Any]:
    """A scenario entry as a table with only `known` keys and every `required` one, else a sentence."""
    if not isinstance(entry, dict):
        raise ScenarioError(f"{where}: must be a table")
    unknown = set(entry) - known
    if unknown:
        raise ScenarioError(f"{where}: unknown keys: {', '.join(sorted(unknown))}")
    missing = required - set(entry)
    if missing:
        raise ScenarioError(f"{where}: missing keys: {', '.join(sorted(missing))}")
    return entry


def _parse_attack(origin: str, number: int, entry: object) -> ScriptedAttack:
    where = f"{origin}, attack #{number}"
    entry = _table(where, entry, ATTACK_KEYS, ATTACK_KEYS)
    try:
        at_s = validate_duration("at_s", entry["at_s"])
    except FaultError as error:
        raise ScenarioError(f"{where}: {error}") from error
    assert at_s is not None
    if entry["kind"] not in ATTACK_KINDS:
        raise ScenarioError(
            f"{where}: unknown attack kind {entry['kind']!r}; one of {', '.join(ATTACK_KINDS)}"
        )
    return ScriptedAttack(at_s, entry["kind"])


def _parse_fault(origin: str, number: int, entry: object) -> ScriptedFault:
    where = f"{origin}, fault #{number}"
    entry = _table(where, entry, FAULT_KEYS, {"at_s", "scope", "kind"})
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


def _known_service(name: str) -> bool:
    """A catalogue service, or a database as its alerts name it (postgres-<db>, postgres-<db>-replica)."""
    if name in CATALOG_BY_NAME:
        return True
    return any(name in (f"postgres-{db}", f"postgres-{db}-replica") for db in DATABASES)


def _text(where: str, entry: dict, key: str, limit: int, *, required: bool) -> str | None:
    value = entry.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise ScenarioError(f"{where}: {key} must be a non-empty string of at most {limit} characters")
    return value


def _parse_incident(origin: str, number: int, entry: object) -> ScriptedIncident:
    where = f"{origin}, incident #{number}"
    entry = _table(where, entry, INCIDENT_KEYS, {"at_s", "title", "severity"})
    try:
        at_s = validate_duration("at_s", entry["at_s"])
    except FaultError as error:
        raise ScenarioError(f"{where}: {error}") from error
    assert at_s is not None
    severity = entry["severity"]
    if severity not in SEVERITIES:
        raise ScenarioError(f"{where}: severity must be one of {', '.join(SEVERITIES)}, got {severity!r}")
    services = entry.get("services", [])
    if not isinstance(services, list) or not all(isinstance(item, str) for item in services):
        raise ScenarioError(f"{where}: services must be a list of service names")
    unknown_services = [item for item in services if not _known_service(item)]
    if unknown_services:
        raise ScenarioError(f"{where}: unknown services: {', '.join(unknown_services)}")
    return ScriptedIncident(
        at_s=at_s,
        title=_text(where, entry, "title", 300, required=True) or "",
        severity=severity,
        services=tuple(dict.fromkeys(services)),
        note=_text(where, entry, "note", 5000, required=False),
        summary=_text(where, entry, "summary", 5000, required=False) or "",
        created_by=_text(where, entry, "created_by", 200, required=False) or SCENARIO_OPERATOR,
    )
