"""CPU of the grouped Reserve and CommitReservation in one process, without gRPC.

Usage (from the repo root):
    .venv/bin/python bench/reservation_groups.py [--groups 150] [--size 16] [--database postgresql|sqlite]
                                                 [--admin-url URL]

Why: bench/reservations.py measures the whole deployment (two replicas, gRPC, the load generator)
on a shared 2-core machine, where the raw ceiling and the servers' share of the CPU move with
whatever else runs. This measures only what the service and repository layers cost: it executes
`--groups` groups of `--size` single-unit reservations of one hot SKU (`service.execute_group` with
`service.reserve_group`, the code a replica's group leader runs), then commits them in groups of
the same size, and prints this process's CPU time per call (time.process_time) and the calls per
second of wall time. On PostgreSQL it uses a fresh temporary database (created and dropped here);
on SQLite a temporary file.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from inventory import service
from inventory.domain import AdjustmentLine, AdjustmentReason, Policy, Reservation, ReserveLineInput
from inventory.repository import UnitOfWork
from omnistock_common.context import CallContext
from omnistock_common.db import make_engine
from omnistock_common.migrations import upgrade

CTX = CallContext(tenant_id="bench", user_id="bench")
POLICY = Policy()
WARMUP_GROUPS = 20  # prepared statements and plans are made in these


@contextmanager
def database(kind: str, admin_url: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'bench.db'}"
        return
    admin = make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"omnistock_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def reserve_items(group: int, size: int) -> list[service.PendingReserve]:
    return [
        service.PendingReserve(
            CTX,
            service.ReserveCommand(f"o{group}-{i}", [ReserveLineInput("HOT", 1, "")], 0, f"k{group}-{i}"),
            datetime.now(UTC),
            900,
        )
        for i in range(size)
    ]


def measure(uow: UnitOfWork, groups: int, size: int) -> tuple[float, float, float, float]:
    """(reserve CPU us/call, reserve calls/s, commit CPU us/call, commit calls/s)."""
    service.adjust(uow, CTX, AdjustmentLine("HOT", "", None, 10**9, AdjustmentReason.RECEIVED), POLICY)
    for group in range(WARMUP_GROUPS):
        service.execute_group(
            uow, CTX.tenant_id, reserve_items(-group - 1, size), POLICY, service.reserve_group
        )
    held: list[Reservation] = []
    cpu, wall = time.process_time(), time.perf_counter()
    for group in range(groups):
        outcomes = service.execute_group(
            uow, CTX.tenant_id, reserve_items(group, size), POLICY, service.reserve_group
        )
        held += [outcome for outcome in outcomes if isinstance(outcome, Reservation)]
    reserve_cpu, reserve_wall = time.process_time() - cpu, time.perf_counter() - wall
    if len(held) != groups * size:
        raise RuntimeError(f"{groups * size - len(held)} reservations were not held")
    cpu, wall = time.process_time(), time.perf_counter()
    for start in range(0, len(held), size):
        items = [
            service.PendingCommit(CTX, reservation.id, (), "", datetime.now(UTC))
            for reservation in held[start : start + size]
        ]
        outcomes = service.execute_group(uow, CTX.tenant_id, items, POLICY, service.commit_group)
        if not all(isinstance(outcome, Reservation) for outcome in outcomes):
            raise RuntimeError(f"a commit failed: {outcomes}")
    commit_cpu, commit_wall = time.process_time() - cpu, time.perf_counter() - wall
    calls = groups * size
    return 1e6 * reserve_cpu / calls, calls / reserve_wall, 1e6 * commit_cpu / calls, calls / commit_wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--groups", type=int, default=150, help="measured groups (default 150)")
    parser.add_argument("--size", type=int, default=16, help="calls per group (default 16)")
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args(argv)
    with database(args.database, args.admin_url) as url:
        upgrade("inventory", url)
        engine = make_engine(url, pool_size=4, max_overflow=0)
        try:
            reserve_cpu, reserve_rate, commit_cpu, commit_rate = measure(
                UnitOfWork(engine), args.groups, args.size
            )
        finally:
            engine.dispose()
    print(
        f"{args.database}, {args.groups} groups of {args.size}: "
        f"reserve {reserve_cpu:.0f} us CPU/call, {reserve_rate:.0f} calls/s; "
        f"commit {commit_cpu:.0f} us CPU/call, {commit_rate:.0f} calls/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
