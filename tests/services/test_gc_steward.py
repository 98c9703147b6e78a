"""The garbage-collector steward: long-lived objects leave the collector's reach between sweeps, and a sweep
reclaims cyclic garbage that was frozen while still referenced."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from nexus_console.services.gc_steward import GcSteward


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


@pytest.fixture(autouse=True)
def unfrozen_afterwards() -> Iterator[None]:
    yield
    gc.unfreeze()


def test_a_step_freezes_what_survives_so_a_collection_no_longer_walks_it() -> None:
    steward = GcSteward(clock=lambda: 0.0)
    kept = [Node() for _ in range(1000)]
    before = gc.get_freeze_count()
    steward.step()
    assert gc.get_freeze_count() >= before + len(kept)
    assert steward.freezes == 1 and steward.sweeps == 0


def test_a_sweep_reclaims_a_cycle_that_was_frozen_while_referenced() -> None:
    now = [0.0]
    steward = GcSteward(freeze_every_s=30, sweep_every_s=3600, clock=lambda: now[0])
    node = Node()
    gone = weakref.ref(node)
    steward.step()  # frozen while still referenced
    del node
    gc.collect()
    assert gone() is not None, "a frozen cycle waits for the sweep"
    now[0] = 3600.0
    steward.step()
    assert gone() is None
    assert steward.sweeps == 1
