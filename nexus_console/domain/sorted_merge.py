"""Merging a few new keys into a long sorted list without re-reading every key's sort value.

A storm adds a few hundred alerts to tens of thousands several times a second; sorting the whole list again
reads every key's value (a dict lookup each) on the GUI thread. A binary search per new key reads about
log2(n) of them, and the result is assembled from slices. bisect cannot search a descending list by a key
of arbitrary (tuple) values, hence the hand-written search.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any


def merge_sorted(
    order: Sequence[str], new: Sequence[str], value_of: Callable[[str], Any], *, reverse: bool = False
) -> list[str]:
    """`order` (sorted by `value_of`, descending when `reverse`) with `new` merged in, as a stable sort of
    `order + new` would place them: after the keys of equal value already there."""
    placed = sorted(new, key=value_of, reverse=reverse)  # stable: equal new keys keep their order
    result: list[str] = []
    start = 0
    for key in placed:
        at = _insertion_point(order, value_of(key), value_of, reverse, start)
        result.extend(order[start:at])
        result.append(key)
        start = at
    result.extend(order[start:])
    return result


def _insertion_point(
    order: Sequence[str], value: Hashable, value_of: Callable[[str], Any], reverse: bool, low: int
) -> int:
    """The first index at or after `low` whose key sorts strictly after `value`."""
    high = len(order)
    while low < high:
        middle = (low + high) // 2
        other = value_of(order[middle])
        after = other < value if reverse else value < other
        if after:
            high = middle
        else:
            low = middle + 1
    return low
