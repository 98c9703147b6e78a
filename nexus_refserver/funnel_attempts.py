"""A user's attempts through a funnel's ordered steps (funnels.py has the definitions): the attempt that got
furthest, with the earliest time of each step, and whether the user could still go on at `as_of`. Pure
functions over a user's step times in whole seconds, ascending."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from nexus_refserver.generator import DATA_AS_OF

_AS_OF_S = int((DATA_AS_OF - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds())


def furthest_attempt(
    steps: Sequence[Sequence[int]],
    entries: Sequence[int],
    window_s: int,
    step_windows_s: Sequence[int] | None = None,
) -> list[int]:
    """Step times (1, 2, ...) of the attempt that got furthest, the earliest on a tie.

    `steps[k]` holds the user's times of step k + 1 in ascending order; `entries` the step-1 times that
    start an attempt (those inside the range), ascending; `step_windows_s[k]` the most seconds step k + 2
    may come after step k + 1.
    """
    best: list[int] = []
    for start in entries:
        times = attempt(steps, start, window_s, step_windows_s)[0]
        if len(times) > len(best):
            best = times
            if len(best) == len(steps):
                break
    return best


def attempt(
    steps: Sequence[Sequence[int]], start: int, window_s: int, step_windows_s: Sequence[int] | None = None
) -> tuple[list[int], int]:
    """One attempt from the step 1 at `start`: the earliest time it reached each step it reached, and the
    latest time it could have reached its furthest step (what the next step's window runs from)."""
    limit = start + window_s
    if step_windows_s is None:  # the earliest step k always leaves the most room: follow it
        times = [start]
        for later in steps[1:]:
            index = bisect.bisect_left(later, times[-1])
            if index == len(later) or later[index] > limit:
                break
            times.append(later[index])
        return times, times[-1]
    reachable = [start]  # every time this attempt could have reached the current step, ascending
    times = [start]
    for later, step_window_s in zip(steps[1:], step_windows_s, strict=False):
        following = [
            at
            for at in later[bisect.bisect_left(later, reachable[0]) :]
            if at <= limit and _reached_within(reachable, at, step_window_s)
        ]
        if not following:
            break
        reachable = following
        times.append(following[0])
    return times, reachable[-1]


def _reached_within(reachable: Sequence[int], at: int, window_s: int) -> bool:
    """Whether some time in `reachable` (ascending) is at most `at` and at least `at - window_s`."""
    index = bisect.bisect_right(reachable, at)
    return index > 0 and reachable[index - 1] >= at - window_s


@dataclass(frozen=True)
class Progress:
    """One user's result: the step times of their furthest attempt, and whether they may still go on."""

    times: list[int]
    in_window: bool


def user_progress(
    steps: Sequence[Sequence[int]],
    entry_from: int,
    entry_to: int,
    window_s: int,
    as_of_s: int = _AS_OF_S,
    step_windows_s: Sequence[int] | None = None,
) -> Progress | None:
    """The user's funnel result for step 1 in [entry_from, entry_to) (seconds); None if they did not enter."""
    entries = [at for at in steps[0] if entry_from <= at < entry_to]
    if not entries:
        return None
    times = furthest_attempt(steps, entries, window_s, step_windows_s)
    if len(times) == len(steps):
        return Progress(times, False)
    return Progress(times, _may_go_on(steps, entries, window_s, as_of_s, step_windows_s))


def _may_go_on(
    steps: Sequence[Sequence[int]],
    entries: Sequence[int],
    window_s: int,
    as_of_s: int,
    step_windows_s: Sequence[int] | None,
) -> bool:
    """Whether an attempt could still take its next step at `as_of` (its windows are still open)."""
    for start in reversed(entries):  # the latest attempts have the most time left
        if start + window_s <= as_of_s:
            return False
        if step_windows_s is None:
            return True
        reached, last_at = attempt(steps, start, window_s, step_windows_s)
        if last_at + step_windows_s[len(reached) - 1] > as_of_s:
            return True
    return False
