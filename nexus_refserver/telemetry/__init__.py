"""The simulated Nexus COS estate: services, databases, faults and scenarios.

`build_estate(config)` gives an `Estate`; the app mounts `estate.router()` (and `estate.control_router()`
when fault control is enabled), adds `estate.api_fault_middleware()` with `estate=estate`, and awaits
`estate.start(base_url)` / `estate.stop()` in its lifespan.
"""

from __future__ import annotations

from nexus_refserver.clock import SimClock
from nexus_refserver.config import ServerConfig
from nexus_refserver.telemetry.catalog import CATALOG, ServiceSpec, build_catalog
from nexus_refserver.telemetry.estate import Estate
from nexus_refserver.telemetry.faults import Fault, FaultBook, FaultError, FaultKind
from nexus_refserver.telemetry.scenario import Scenario, ScenarioError, load_scenario

__all__ = [
    "CATALOG",
    "Estate",
    "Fault",
    "FaultBook",
    "FaultError",
    "FaultKind",
    "Scenario",
    "ScenarioError",
    "ServiceSpec",
    "build_catalog",
    "build_estate",
    "load_scenario",
]


def build_estate(config: ServerConfig, clock: SimClock | None = None) -> Estate:
    """The estate for a server configuration, with its scenario scheduled. Raises ScenarioError."""
    scenario = load_scenario(config.scenario)
    estate = Estate(
        clock or SimClock(config.clock_factor),
        seed=config.seed,
        multi_port=config.multi_port,
        port_offset=config.port_offset,
        host=config.host,
        catalog=build_catalog(config.services, config.seed),
    )
    scenario.schedule(estate.faults)
    estate.scenario = scenario
    return estate
