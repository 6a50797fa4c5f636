"""`python -m omnistock_devtools.registry ...` (and `python -m registry ...` in the Dockerfile)."""

from .cli import main

raise SystemExit(main())
