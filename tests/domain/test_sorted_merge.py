"""merge_sorted places new keys exactly where a stable sort of the whole list would."""

from __future__ import annotations

import random

import pytest

from nexus_console.domain.sorted_merge import merge_sorted


@pytest.mark.parametrize("reverse", [False, True])
def test_merging_matches_a_stable_sort_of_everything(reverse: bool) -> None:
    rng = random.Random(7)
    for _ in range(200):
        values = {f"k{i}": (rng.randrange(5), rng.choice("ab")) for i in range(rng.randrange(0, 60))}
        keys = list(values)
        rng.shuffle(keys)
        cut = rng.randrange(0, len(keys) + 1)
        order = sorted(keys[:cut], key=values.__getitem__, reverse=reverse)
        new = keys[cut:]
        expected = sorted(order + new, key=values.__getitem__, reverse=reverse)
        assert merge_sorted(order, new, values.__getitem__, reverse=reverse) == expected


def test_merging_reads_few_values_of_a_long_list() -> None:
    values = {f"k{i:06d}": i for i in range(100_000)}
    order = list(values)
    values["new"] = 50_000
    reads = []

    def value_of(key: str) -> int:
        reads.append(key)
        return values[key]

    merged = merge_sorted(order, ["new"], value_of)
    assert merged.index("new") == 50_001 and len(merged) == 100_001
    assert len(reads) < 40
