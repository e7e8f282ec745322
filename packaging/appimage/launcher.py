"""Entry point of the frozen `desk` executable: Desk's command line (no arguments: the agent window)."""

from desk.cli import main

raise SystemExit(main())
