"""`--services N`: the seed's 44 services and N-44 generated in their style, with the same probes and
/metrics; without the flag the estate is the seed's, unchanged."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from nexus_refserver.cli import build_parser, config_from_args
from nexus_refserver.clock import SimClock
from nexus_refserver.telemetry import CATALOG, Estate, build_catalog, build_estate
from nexus_refserver.telemetry.catalog import NAMESPACES
from tests.refserver.conftest import SMALL_SERVER_ARGS, bearer, login
from tests.support.refserver import RefServer

SEED_COUNT = len(CATALOG)


def test_without_the_flag_the_estate_is_the_seeds_and_stays_as_it_was() -> None:
    config = config_from_args(build_parser().parse_args([]))
    assert config.services is None
    assert build_catalog(None) is CATALOG and build_catalog(SEED_COUNT) is CATALOG
    default = build_estate(config, SimClock(1.0))
    assert [spec.name for spec in default.catalog] == [spec.name for spec in CATALOG]
    # the seed's services and the databases draw the same random streams with or without generated ones
    scaled = Estate(SimClock(1.0), seed=config.seed, catalog=build_catalog(300, config.seed))
    for name in ("backend-api", "puabo-nuki-order-processor", "pv-keys"):
        assert scaled.sims[name].phase_s == default.sims[name].phase_s
        assert scaled.sims[name].base_cpu_pct == default.sims[name].base_cpu_pct
    for name, database in default.databases.items():
        assert scaled.databases[name].rng.random() == database.rng.random()


def test_generated_services_look_like_the_seeds() -> None:
    catalog = build_catalog(1000, seed=42)
    assert catalog == build_catalog(1000, seed=42), "the same seed generates the same estate"
    assert catalog != build_catalog(1000, seed=43)
    assert catalog[:SEED_COUNT] == CATALOG
    generated = catalog[SEED_COUNT:]
    assert len({spec.name for spec in catalog}) == 1000
    assert len({spec.port for spec in catalog}) == 1000
    namespaces = {spec.namespace for spec in generated}
    assert set(NAMESPACES) <= namespaces and all(ns.startswith("nexus-") for ns in namespaces)
    assert {spec.tier for spec in generated} == {1, 2, 3}
    prefixed = sum(spec.name.startswith(("puabo-", "nexus-")) for spec in generated)
    assert prefixed > len(generated) // 3, "many carry the seed's product prefixes"
    for spec in generated:
        assert spec.name == spec.name.lower() and " " not in spec.name
        assert spec.endpoints and all(e.startswith("/api/") for e in spec.endpoints)
        assert spec.p50_ms < spec.p95_ms <= 330.0, spec
        assert spec.base_rps >= 8.0 and spec.description
    assert any(spec.database for spec in generated) and any(spec.sync_detection for spec in generated)


@pytest.mark.parametrize("count", ["10", "43", "5001", "many"])
def test_an_estate_smaller_than_the_seeds_or_absurdly_big_is_refused(count: str) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--services", count])


def test_a_server_with_300_services_lists_and_probes_every_one(
    refserver_factory: Callable[..., RefServer],
) -> None:
    server = refserver_factory(*SMALL_SERVER_ARGS, "--services", "300", "--enable-fault-control")
    tokens = login(server.base_url, "viewer")
    with httpx.Client(base_url=server.base_url, timeout=15, trust_env=False) as client:
        registry = client.get("/monitoring/services", headers=bearer(tokens["access_token"]))
        assert registry.status_code == 200
        items = registry.json()["items"]
    assert len(items) == 300
    names = [item["name"] for item in items]
    assert len(set(names)) == 300 and {spec.name for spec in CATALOG} <= set(names)
    generated = next(item for item in items if item["name"] not in {spec.name for spec in CATALOG})
    assert generated["health_url"].endswith(f"/svc/{generated['name']}/health")

    async def probe_all() -> list[tuple[str, str, httpx.Response]]:
        limits = httpx.Limits(max_connections=32)
        async with httpx.AsyncClient(timeout=15, trust_env=False, limits=limits) as probes:
            semaphore = asyncio.Semaphore(32)

            async def one(item: dict[str, str], key: str) -> tuple[str, str, httpx.Response]:
                async with semaphore:
                    return item["name"], key, await probes.get(item[key])

            keys = ("health_url", "live_url", "ready_url", "metrics_url")
            return await asyncio.gather(*(one(item, key) for item in items for key in keys))

    answers = asyncio.run(probe_all())
    assert len(answers) == 1200
    for name, key, response in answers:
        assert response.status_code == 200, (name, key, response.text[:200])
        if key == "metrics_url":
            assert "http_request_duration_seconds_bucket" in response.text
            assert "service_up 1.0" in response.text
        else:
            body = response.json()
            assert body["service"] == name and body["status"] in ("up", "degraded"), body
    # faults reach generated services, by name and through `*`
    with httpx.Client(base_url=server.base_url, timeout=15, trust_env=False) as control:
        down = control.post("/_control/faults", json={"scope": generated["name"], "kind": "down"})
        assert down.status_code == 201, down.text
        assert control.get(generated["health_url"]).status_code == 503
        control.delete("/_control/faults").raise_for_status()
        everywhere = control.post("/_control/faults", json={"scope": "*", "kind": "error_rate", "value": 1.0})
        assert everywhere.status_code == 201
        assert control.get(generated["live_url"]).status_code == 500
        assert control.get("/svc/backend-api/health").status_code == 500
