"""`python -m nexus_refserver`: the same as the `nexus-refserver` command."""

from nexus_refserver.cli import main

raise SystemExit(main())
