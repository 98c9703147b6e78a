"""Entry point of the PyInstaller bundle: the same `main` as the wheel's `nexus-console` script."""

from nexus_console.cli import main

raise SystemExit(main())
