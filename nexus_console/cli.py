"""`nexus-console`: the console, or one of its commands without a window (`incident …`, `report …`,
`compliance …`, `database password …`), which start without loading the window's code."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["incident"]:
        from nexus_console.incident_cli import main as incident_main

        return incident_main(arguments[1:])
    if arguments[:1] == ["report"]:
        from nexus_console.report_cli import main as report_main

        return report_main(arguments[1:])
    if arguments[:1] == ["database"]:
        from nexus_console.database_cli import main as database_main

        return database_main(arguments[1:])
    if arguments[:1] == ["compliance"]:
        from nexus_console.compliance_cli import main as compliance_main

        return compliance_main(arguments[1:])
    return run_console(arguments)


def run_console(arguments: Sequence[str]) -> int:
    """The window: one QApplication with one asyncio loop in it (qasync), until the console quits."""
    import asyncio
    import faulthandler
    import logging
    import os

    os.environ.setdefault("QT_API", "pyside6")  # before qasync picks its Qt binding
    from PySide6.QtWidgets import QApplication

    from nexus_console import __version__
    from nexus_console.app import ConsoleApp
    from nexus_console.launch_options import parse_args
    from nexus_console.services.error_hooks import ExceptionHooks
    from nexus_console.services.logging_setup import remove_handlers, setup_logging
    from nexus_console.services.profiles import log_dir
    from nexus_console.services.quit_signals import install_quit_signals
    from nexus_console.views.theme import apply_theme
    from nexus_console.workers.event_loop import ConsoleEventLoop

    args = parse_args(list(arguments))
    faulthandler.enable()  # a watchdog's SIGABRT leaves the stack where the loop hung in the journal
    handlers = setup_logging(log_dir(), level=getattr(logging, args.log_level.upper()))
    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)
    app.setApplicationName("Nexus Console")
    app.setApplicationVersion(__version__)
    apply_theme(app)
    loop = ConsoleEventLoop(app)
    asyncio.set_event_loop(loop)
    console = ConsoleApp(args, app)
    hooks = ExceptionHooks(console.report_error, loop)
    hooks.install()
    uninstall_signals = install_quit_signals(loop, console.on_quit_signal)
    try:
        with loop:
            return loop.run_until_complete(console.run())
    finally:
        uninstall_signals()
        hooks.uninstall()
        asyncio.set_event_loop(None)
        remove_handlers(handlers)
