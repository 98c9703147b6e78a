from nexus_console.app import main

raise SystemExit(main())
