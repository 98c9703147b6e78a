"""Project-wide test setup: isolated directories, an in-memory keychain, and a leak check.

Every test gets fresh config / cache / data / state directories (never the developer's own) and an
in-memory keyring, unless it is marked `secret_service`. After each test, threads, child processes and
active QTimers that the test started and left running fail it.
"""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["QT_API"] = "pyside6"
os.environ["PYQTGRAPH_QT_LIB"] = "PySide6"

import keyring
import psutil
import pytest

from tests.support.memory_keyring import MemoryKeyring
from tests.support.qloop import QLoop
from tests.support.refserver import SESSION_PIDS, RefServer

collect_ignore_glob: list[str] = []
pytest_plugins = ["tests.support.postgres_fixtures", "tests.support.prometheus_stack"]


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    dirs = {}
    for name in ("config", "cache", "data", "state"):
        path = tmp_path / "xdg" / name
        path.mkdir(parents=True)
        monkeypatch.setenv(f"XDG_{name.upper()}_HOME", str(path))
        dirs[name] = path
    return dirs


@pytest.fixture(autouse=True)
def memory_keyring(request: pytest.FixtureRequest) -> Iterator[MemoryKeyring | None]:
    if request.node.get_closest_marker("secret_service"):
        yield None
        return
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


def _children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)} - SESSION_PIDS


def _active_qtimers() -> list[object]:
    import sys

    if "PySide6.QtCore" not in sys.modules:
        return []
    import shiboken6
    from PySide6.QtCore import QTimer

    return [
        obj
        for obj in gc.get_objects()
        if isinstance(obj, QTimer) and shiboken6.isValid(obj) and obj.isActive()
    ]


def _flush_qt_deletes() -> None:
    import sys

    if "PySide6.QtWidgets" not in sys.modules:
        return
    from PySide6.QtCore import QCoreApplication, QEvent

    app = QCoreApplication.instance()
    if app is None:
        return
    for _ in range(3):
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        app.processEvents()


@pytest.fixture(autouse=True)
def no_leaks(request: pytest.FixtureRequest) -> Iterator[None]:
    threads_before = set(threading.enumerate())
    children_before = _children()
    timers_before = {id(t) for t in _active_qtimers()}
    yield
    if request.node.get_closest_marker("allow_leaks"):
        return
    _flush_qt_deletes()
    deadline = time.monotonic() + 3.0
    while True:
        new_threads = [
            t for t in threading.enumerate() if t not in threads_before and t.is_alive() and not t.daemon
        ]
        new_children = _children() - children_before
        if not (new_threads or new_children) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    gc.collect()
    _flush_qt_deletes()
    new_timers = [t for t in _active_qtimers() if id(t) not in timers_before]
    problems = []
    if new_threads:
        problems.append(f"threads left running: {[t.name for t in new_threads]}")
    if new_children:
        problems.append(f"child processes left running: {sorted(new_children)}")
    if new_timers:
        problems.append(f"QTimers left active: {[(t.objectName(), t.interval()) for t in new_timers]}")
    if problems:
        pytest.fail("; ".join(problems), pytrace=False)


@pytest.fixture(scope="session")
def refserver_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RefServer]:
    """A shared reference server with the default scenario off, small data, and fault control on."""
    server = RefServer(
        tmp_path_factory.mktemp("refserver-session"),
        "--seed",
        "7",
        "--scale",
        "0.02",
        "--scenario",
        "none",
        "--enable-fault-control",
        session_owned=True,
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def refserver_factory(tmp_path: Path) -> Iterator[object]:
    """Start dedicated reference servers for a test (for restarts, kills, special flags)."""
    started: list[RefServer] = []

    def start(*args: str) -> RefServer:
        server = RefServer(tmp_path / f"refserver-{len(started)}", *args)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


PENDING_CANCEL_S = 10.0


@pytest.fixture
def qloop(qapp: Any) -> Iterator[QLoop]:
    """A fresh console loop (qasync's, batched) on the Qt app for one test; fails the test if tasks are left
    pending."""
    from nexus_console.workers.event_loop import ConsoleEventLoop

    loop = ConsoleEventLoop(qapp)
    asyncio.set_event_loop(loop)
    QLoop.current = loop
    pending: list[asyncio.Task[Any]] = []
    try:
        yield QLoop(loop)
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            # Bounded: a task that swallows its cancellation must fail the test, not hang the run.
            loop.run_until_complete(asyncio.wait(pending, timeout=PENDING_CANCEL_S))
            stuck = [task for task in pending if not task.done()]
            if stuck:
                stacks = "; ".join(f"{t.get_name()} at {t.get_stack(limit=3)}" for t in stuck)
                pytest.fail(f"tasks ignored their cancellation: {stacks}", pytrace=False)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        asyncio.set_event_loop(None)
        QLoop.current = None
    if pending:
        pytest.fail(f"tasks left pending: {[task.get_name() for task in pending]}", pytrace=False)


@pytest.fixture(scope="session")
def xvfb_display() -> Iterator[str]:
    """A private Xvfb screen (real X11 windows through Qt's xcb platform) for the session."""
    from tests.support.xvfb import Xvfb

    screen = Xvfb()
    display = screen.start()
    yield display
    screen.stop()
