"""The last known state survives a restart and shows at once, marked stale until fresh data arrives."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from nexus_console.domain.freshness import SourceState, Stamped
from nexus_console.services.cache import CACHE_FILE, LocalCache
from nexus_console.services.polling import JSON_CODEC, Poller, PollerRegistry
from nexus_console.services.profiles import cache_dir
from tests.console.conftest import QLoop
from tests.console.helpers import wait_until


def test_cache_round_trip_and_profiles_do_not_mix(qloop: QLoop, isolated_dirs: dict[str, Path]) -> None:
    path = cache_dir() / CACHE_FILE
    assert path.is_relative_to(isolated_dirs["cache"])

    async def scenario() -> None:
        lab = LocalCache(path, namespace="lab")
        prod = LocalCache(path, namespace="prod")
        try:
            await lab.save("services", Stamped({"items": [1, 2]}, 100.0, 101.0, 5.0))
            assert await lab.load("services") == Stamped({"items": [1, 2]}, 100.0, 101.0, 5.0)
            assert await prod.load("services") is None
            await lab.save("services", Stamped({"items": [3]}, 200.0, 201.0, 5.0))
            assert (await lab.load("services")).value == {"items": [3]}  # type: ignore[union-attr]
            assert await lab.sources() == ["services"]
        finally:
            await lab.aclose()
            await prod.aclose()

    qloop.run(scenario())


def test_restart_shows_the_cached_picture_stale_until_fresh_data(qloop: QLoop) -> None:
    path = cache_dir() / CACHE_FILE
    release = asyncio.Event()
    answer = {"n": 1}

    async def fetch() -> dict[str, int]:
        await release.wait()
        return dict(answer)

    def make_poller() -> Poller[dict[str, int]]:
        return Poller("api_health", fetch, 0.2, timeout_s=5.0, cache_codec=JSON_CODEC)

    async def first_run() -> None:
        cache = LocalCache(path, namespace="lab")
        registry = PollerRegistry(cache)
        poller = registry.add(make_poller())
        release.set()
        registry.start()
        await wait_until(lambda: poller.status.state is SourceState.OK)
        await registry.aclose()
        await cache.aclose()

    async def second_run() -> None:
        release.clear()
        answer["n"] = 2
        cache = LocalCache(path, namespace="lab")
        registry = PollerRegistry(cache)
        poller = registry.add(make_poller())
        registry.start()
        await wait_until(lambda: poller.status.last_good is not None)

        assert poller.status.state is SourceState.CONNECTING
        assert poller.status.last_good.value == {"n": 1}  # type: ignore[union-attr]
        assert poller.status.is_stale(time.time())
        release.set()
        await wait_until(lambda: poller.status.state is SourceState.OK)
        assert poller.status.last_good.value == {"n": 2}  # type: ignore[union-attr]
        assert not poller.status.is_stale(time.time())
        await registry.aclose()
        await cache.aclose()

    qloop.run(first_run())
    qloop.run(second_run())


def test_a_fast_source_is_cached_once_per_interval_and_its_newest_value_on_close(qloop: QLoop) -> None:
    path = cache_dir() / CACHE_FILE
    counter = {"n": 0}

    async def fetch() -> dict[str, int]:
        counter["n"] += 1
        return {"n": counter["n"]}

    class CountingCache(LocalCache):
        saves = 0

        async def save(self, source: str, stamped: Any) -> None:
            CountingCache.saves += 1
            await super().save(source, stamped)

    async def run() -> None:
        cache = CountingCache(path, namespace="lab")
        registry = PollerRegistry(cache, cache_every_s=60.0)
        poller = registry.add(Poller("metrics", fetch, 0.02, timeout_s=5.0, cache_codec=JSON_CODEC))
        registry.start()
        await wait_until(lambda: counter["n"] >= 10)
        assert CountingCache.saves == 1  # the first good value; the rest are held back
        await registry.aclose()
        newest = poller.status.last_good.value  # type: ignore[union-attr]
        assert CountingCache.saves == 2
        cached = await cache.load("metrics")
        assert cached is not None and cached.value == newest
        await cache.aclose()

    qloop.run(run())
