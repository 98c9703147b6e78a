"""JSON bodies parsed with their item limit, and off the GUI thread when they are large.

A body up to `INLINE_PARSE_BYTES` is parsed inline (cheaper than a thread hop). A larger one is parsed on an
executor by `loads_in_steps`, which gives the GIL back between small pieces: `json.loads` is one C call that
holds the GIL for its whole run (120 ms for a 16 MiB alert page here), so handing it to a thread alone
would still stall the GUI thread for that long. `loads_in_steps` walks the outer lists and objects in Python
and decodes each record (an alert, a rule group) with one `raw_decode` call, so the GIL changes hands
between records; it counts items as it goes and stops at the limit, before
a hostile answer of millions of tiny items is built. Measured on a 16 MiB alert page: the GUI thread's
longest wait 20-30 ms (the interpreter's switch interval, a 9 ms UTF-8 decode, scheduling) against 140 ms
with json.loads on a thread.
"""

from __future__ import annotations

import asyncio
import functools
import json
import queue
import re
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from json.decoder import scanstring
from typing import Any, TypeVar

import httpx

from nexus_console.services.http.errors import FetchError, short_url
from nexus_console.services.http.limits import KiB, ResponseLimits, TooManyItems

INLINE_PARSE_BYTES = 256 * KiB
PARSE_TIMEOUT_S = 30.0
# Lists are walked to this depth, and objects that are not list elements: `{"items": [record, ...]}`,
# `[record, ...]`, `{"data": {"groups": [group, ...]}}`. Records (objects inside lists) and anything
# deeper are decoded whole.
WALK_DEPTH = 3
T = TypeVar("T")


class ParsePool(Executor):
    """A fixed set of daemon threads for parsing: pure computation that may be dropped at exit, so it never
    delays the console's shutdown (a ThreadPoolExecutor's threads are joined at exit). A worker keeps nothing
    of a finished job (the body it parsed) until its next one."""

    def __init__(self, workers: int, name: str) -> None:
        self._jobs: queue.SimpleQueue[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]] = (
            queue.SimpleQueue()
        )
        self.threads = [
            threading.Thread(target=self._work, name=f"{name}-{index}", daemon=True)
            for index in range(workers)
        ]
        for thread in self.threads:
            thread.start()

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        self._jobs.put((future, functools.partial(fn, **kwargs) if kwargs else fn, args))
        return future

    def _work(self) -> None:
        while True:
            future, function, args = self._jobs.get()
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(function(*args))
                except BaseException as exc:
                    future.set_exception(exc)
            del future, function, args  # the job's body is not kept alive while the worker waits


@functools.cache
def parse_pool() -> ParsePool:
    """The console's own small pool for large parses (two at a time bounds their transient memory), started
    on the first large body rather than at import; callers with an executor of their own may pass it."""
    return ParsePool(2, "json-parse")


_DECODER = json.JSONDecoder()
_WHITESPACE = re.compile(r"[ \t\n\r]*")


class _TooMany(Exception):
    """Raised inside a parse when a list passes the item limit (turned into TooManyItems by the caller)."""


def scan_value(text: str, index: int) -> tuple[Any, int]:
    """One JSON value at `index` in one C call (a hook: tests wrap it to see the pieces)."""
    return _DECODER.raw_decode(text, index)


def loads_in_steps(text: str, max_items: int | None = None) -> Any:
    """`json.loads(text)` in many short C calls; raises json.JSONDecodeError as json.loads does, and
    _TooMany when a walked list or object has more than `max_items` entries."""
    value, end = _value(text, _skip(text, 0), 0, False, max_items)
    end = _skip(text, end)
    if end != len(text):
        raise json.JSONDecodeError("Extra data", text, end)
    return value


def _skip(text: str, index: int) -> int:
    return _WHITESPACE.match(text, index).end()  # type: ignore[union-attr]


def _value(text: str, index: int, depth: int, in_list: bool, max_items: int | None) -> tuple[Any, int]:
    char = text[index : index + 1]
    if depth <= WALK_DEPTH:
        if char == "[":
            return _array(text, index + 1, depth, max_items)
        if char == "{" and not in_list:
            return _object(text, index + 1, depth, max_items)
    try:
        return scan_value(text, index)
    except StopIteration:
        raise json.JSONDecodeError("Expecting value", text, index) from None


def _array(text: str, index: int, depth: int, max_items: int | None) -> tuple[list[Any], int]:
    items: list[Any] = []
    index = _skip(text, index)
    if text[index : index + 1] == "]":
        return items, index + 1
    while True:
        value, index = _value(text, index, depth + 1, True, max_items)
        items.append(value)
        if max_items is not None and len(items) > max_items:
            raise _TooMany
        index = _skip(text, index)
        char = text[index : index + 1]
        if char == "]":
            return items, index + 1
        if char != ",":
            raise json.JSONDecodeError("Expecting ',' delimiter", text, index)
        index = _skip(text, index + 1)


def _object(text: str, index: int, depth: int, max_items: int | None) -> tuple[dict[str, Any], int]:
    members: dict[str, Any] = {}
    index = _skip(text, index)
    if text[index : index + 1] == "}":
        return members, index + 1
    while True:
        if text[index : index + 1] != '"':
            raise json.JSONDecodeError("Expecting property name enclosed in double quotes", text, index)
        key, index = scanstring(text, index + 1, True)
        index = _skip(text, index)
        if text[index : index + 1] != ":":
            raise json.JSONDecodeError("Expecting ':' delimiter", text, index)
        value, index = _value(text, _skip(text, index + 1), depth + 1, False, max_items)
        members[key] = value
        if max_items is not None and len(members) > max_items:
            raise _TooMany
        index = _skip(text, index)
        char = text[index : index + 1]
        if char == "}":
            return members, index + 1
        if char != ",":
            raise json.JSONDecodeError("Expecting ',' delimiter", text, index)
        index = _skip(text, index + 1)


def count_exceeds(value: Any, max_items: int | None, depth: int = 0, in_list: bool = False) -> bool:
    """Whether a parsed value has a walked list or object (the ones `loads_in_steps` walks) over the
    limit."""
    if max_items is None or depth > WALK_DEPTH:
        return False
    if isinstance(value, list):
        return len(value) > max_items or any(count_exceeds(v, max_items, depth + 1, True) for v in value)
    if isinstance(value, dict) and not in_list:
        return len(value) > max_items or any(
            count_exceeds(v, max_items, depth + 1, False) for v in value.values()
        )
    return False


def _parse_inline(content: bytes, max_items: int | None) -> Any:
    value = json.loads(content)
    if count_exceeds(value, max_items):
        raise _TooMany
    return value


def _parse_in_steps(content: bytes, max_items: int | None) -> Any:
    text = content.decode(json.detect_encoding(content), "surrogatepass")  # what json.loads does
    return loads_in_steps(text, max_items)


async def parse_json(
    content: bytes,
    *,
    url: str | httpx.URL,
    sender: str,
    limits: ResponseLimits,
    content_type: str = "",
    executor: Executor | None = None,
) -> Any:
    """The JSON value of a body, or a FetchError in words: invalid JSON (naming the URL and content type),
    too many items (TooManyItems), or a parse that outlasted PARSE_TIMEOUT_S."""
    try:
        if len(content) <= INLINE_PARSE_BYTES:
            return _parse_inline(content, limits.max_items)
        return await _parse_off_loop(content, limits.max_items, executor)
    except _TooMany:
        error: Exception = TooManyItems(sender, limits.max_items or 0, url)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        what = content_type or "no content type"
        error = FetchError(f"invalid JSON from {short_url(url)} ({what}): {_why(exc)}")
    except TimeoutError:
        error = FetchError(
            f"parsing the answer from {short_url(url)} took longer than {PARSE_TIMEOUT_S:.0f} s"
        )
    # Raised outside the except blocks: the caught exception (whose traceback holds the parse's frames,
    # and a JSONDecodeError its whole text) is gone by now.
    raise error


async def _parse_off_loop(content: bytes, max_items: int | None, executor: Executor | None) -> Any:
    return await off_loop(_parse_in_steps, content, max_items, executor=executor)


async def off_loop(function: Callable[..., T], *args: Any, executor: Executor | None = None) -> T:
    """`function(*args)` on `executor` (else the parse pool), awaited for at most PARSE_TIMEOUT_S
    (TimeoutError; the work itself runs to its end)."""
    job = asyncio.get_running_loop().run_in_executor(executor or parse_pool(), function, *args)
    async with asyncio.timeout(PARSE_TIMEOUT_S):
        return await job


def _why(exc: BaseException) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at position {exc.pos}"
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8"
    return "nested too deeply"
