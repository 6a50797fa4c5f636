"""Operator commands: `python -m inventory.cli reconcile [--tenant T]`.

Runs straight on the service layer against INVENTORY_DATABASE_URL (no server needed) and exits
1 when any tenant's ledger does not sum to its stock levels, so it can gate a cron job or CI.
"""

from __future__ import annotations

import argparse

from inventory import service
from inventory.config import load_settings
from inventory.repository import UnitOfWork
from omnistock_common.config import run_entrypoint
from omnistock_common.db import make_engine


def reconcile_command(tenant: str | None) -> int:
    settings = load_settings()
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        reports = service.reconcile_all(UnitOfWork(engine), tenant)
    finally:
        engine.dispose()
    bad = 0
    for tenant_id, report in sorted(reports.items()):
        status = "OK" if not report.mismatches else f"{len(report.mismatches)} MISMATCH(ES)"
        print(f"{tenant_id}: checked {report.checked} sku/location pairs: {status}")
        for m in report.mismatches:
            bad += 1
            print(
                f"  {m.sku} @ {m.location_code}: on_hand {m.on_hand} vs ledger {m.ledger_on_hand}, "
                f"reserved {m.reserved} vs ledger {m.ledger_reserved}"
            )
    if not reports:
        print("no tenants with stock")
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m inventory.cli", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    rec = commands.add_parser("reconcile", help="check that the ledger sums to the stock levels")
    rec.add_argument("--tenant", default=None, help="only this tenant (default: all tenants)")
    args = parser.parse_args(argv)
    if args.command == "reconcile":
        return reconcile_command(args.tenant)
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    run_entrypoint(main)
