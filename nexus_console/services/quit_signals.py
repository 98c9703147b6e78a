"""SIGINT and SIGTERM as a request to quit, delivered on the asyncio loop.

Python runs a signal handler only when the interpreter gets control, and with Qt's loop in C++ it may not for
a long time; Python's default SIGINT handler then raises KeyboardInterrupt inside whatever callback runs next
(in qasync, inside its timer handler, which leaves that timer firing forever). `loop.add_signal_handler`
avoids both: the C-level handler writes the signal number to the loop's self-pipe (`signal.set_wakeup_fd`),
which the loop watches like any socket (qasync: a QSocketNotifier), and the callback runs as an ordinary
loop callback. Loops without it (Windows' proactor loop) fall back to `signal.signal` and
`call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

QUIT_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)


def install_quit_signals(
    loop: asyncio.AbstractEventLoop, on_signal: Callable[[signal.Signals], None]
) -> Callable[[], None]:
    """Call `on_signal(sig)` on the loop for SIGINT and SIGTERM; returns the function that undoes it."""
    undo: list[Callable[[], Any]] = []
    for sig in QUIT_SIGNALS:
        try:
            loop.add_signal_handler(sig, on_signal, sig)
            undo.append(lambda sig=sig: loop.remove_signal_handler(sig))
        except NotImplementedError:

            def handler(signum: int, _frame: Any) -> None:
                with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                    loop.call_soon_threadsafe(on_signal, signal.Signals(signum))

            previous = signal.signal(sig, handler)
            undo.append(lambda sig=sig, previous=previous: signal.signal(sig, previous))

    def uninstall() -> None:
        for step in undo:
            with contextlib.suppress(Exception):
                step()
        undo.clear()

    return uninstall
