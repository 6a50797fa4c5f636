"""`python -m orders.rebuild_sales [--tenant ID]`: recompute the sales read model from the orders.

Migration 0003 fills it once on upgrade; this is the repair for later (a restore of the orders
tables, a change of the read model's rules): one transaction, order saves wait meanwhile.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence

from omnistock_common.db import make_engine
from orders import service
from orders.config import load_settings
from orders.repository import UnitOfWork


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orders.rebuild_sales", description=__doc__)
    parser.add_argument("--tenant", default=None, help="only this tenant (default: every tenant)")
    args = parser.parse_args(argv)
    settings = load_settings(environ)
    engine = make_engine(settings.database_url)
    try:
        count = service.rebuild_sales(UnitOfWork(engine), args.tenant)
    finally:
        engine.dispose()
    print(f"sales read model rebuilt from {count} orders", file=sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
