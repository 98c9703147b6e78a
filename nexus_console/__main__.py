from nexus_console.cli import main

raise SystemExit(main())
