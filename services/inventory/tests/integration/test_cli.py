"""`python -m inventory.cli reconcile`: exit 0 when the ledger sums to the levels, 1 otherwise."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import Engine, text

from inventory import domain, service
from inventory.repository import UnitOfWork
from omnistock_common.context import CallContext


def run_cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INVENTORY_DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "-m", "inventory.cli", "reconcile", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_reconcile_command(migrated_url: str, engine: Engine) -> None:
    uow = UnitOfWork(engine)
    for tenant in ("t1", "t2"):
        line = domain.AdjustmentLine("A", "", 7, None, domain.AdjustmentReason.RECEIVED)
        service.adjust(uow, CallContext(tenant), line, domain.Policy())
    clean = run_cli(migrated_url)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "t1: checked 1" in clean.stdout and "t2: checked 1" in clean.stdout

    with engine.begin() as conn:
        conn.execute(text("UPDATE stock_levels SET reserved = 2 WHERE tenant_id = 't2'"))
    broken = run_cli(migrated_url)
    assert broken.returncode == 1
    assert "A @ default: on_hand 7 vs ledger 7, reserved 2 vs ledger 0" in broken.stdout
    assert run_cli(migrated_url, "--tenant", "t1").returncode == 0
