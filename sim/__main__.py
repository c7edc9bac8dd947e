"""`python -m sim`: see sim.cli."""

from __future__ import annotations

from sim.cli import main

raise SystemExit(main())
