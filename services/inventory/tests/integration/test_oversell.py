"""The oversell test: many replicas, one database, thousands of racing holds on one SKU.

Real server processes (`python -m inventory.server`), so nothing in one Python process (GIL,
shared pool) can hide a race: only the database decides who gets the last unit.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import create_engine, text

from omnistock.inventory.v1 import inventory_service_pb2 as pb
from omnistock.inventory.v1 import inventory_service_pb2_grpc as pb_grpc
from omnistock_common.clients import DeadlineStub, make_channel
from omnistock_common.context import CallContext
from omnistock_common.db import normalize_url
from omnistock_devtools.migrated import migrate

ATTEMPTS = 2_000
STOCK = 100
THREADS = 64
TENANT = CallContext(tenant_id="oversell", user_id="load")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def inventory_process(database_url: str) -> Iterator[str]:
    """One `python -m inventory.server` process; yields its address once health says SERVING."""
    port = _free_port()
    env = {
        **os.environ,
        "INVENTORY_GRPC_PORT": str(port),
        "INVENTORY_DATABASE_URL": database_url,
        "INVENTORY_DB_POOL_SIZE": "8",  # 3 replicas x 16 connections fit PostgreSQL's 100
        "LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen([sys.executable, "-m", "inventory.server"], env=env, stdout=subprocess.DEVNULL)
    address = f"127.0.0.1:{port}"
    try:
        with grpc.insecure_channel(address) as channel:
            grpc.channel_ready_future(channel).result(timeout=60)
            status = (
                health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10).status
            )
            assert status == health_pb2.HealthCheckResponse.SERVING
        yield address
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_oversell(database_url: str, replicas: int) -> None:
    migrate("inventory", database_url)
    with ExitStack() as stack:
        addresses = [stack.enter_context(inventory_process(database_url)) for _ in range(replicas)]
        channels = [stack.enter_context(make_channel(address)) for address in addresses]
        stubs = [DeadlineStub(pb_grpc.InventoryServiceStub(ch), timeout=120).call(TENANT) for ch in channels]
        stubs[0].Adjust(
            pb.AdjustRequest(
                line=pb.AdjustmentLine(sku="HOT", set=STOCK, reason=pb.ADJUSTMENT_REASON_RECEIVED)
            )
        )

        def attempt(i: int) -> str:
            request = pb.ReserveRequest(
                order_ref=f"order-{i}", lines=[pb.ReservationLineInput(sku="HOT", quantity=1)]
            )
            try:
                reservation = stubs[i % len(stubs)].Reserve(request).reservation
            except grpc.RpcError as err:
                return err.code().name
            return pb.ReservationStatus.Name(reservation.status)

        with ThreadPoolExecutor(THREADS) as pool:
            outcomes = Counter(pool.map(attempt, range(ATTEMPTS)))

        assert outcomes == {"RESERVATION_STATUS_HELD": STOCK, "FAILED_PRECONDITION": ATTEMPTS - STOCK}
        level = stubs[1 % len(stubs)].GetSkuStock(pb.GetSkuStockRequest(sku="HOT"))
        assert (level.on_hand, level.reserved, level.available) == (STOCK, STOCK, 0)
        report = stubs[-1].Reconcile(pb.ReconcileRequest())
        assert list(report.mismatches) == [] and report.checked == 1

    engine = create_engine(normalize_url(database_url))
    try:
        with engine.connect() as conn:
            held = conn.execute(text("SELECT count(*) FROM reservations WHERE status = 'HELD'")).scalar()
            movements = conn.execute(text("SELECT count(*) FROM movements WHERE kind = 'RESERVE'")).scalar()
    finally:
        engine.dispose()
    assert (held, movements) == (STOCK, STOCK)


@pytest.mark.slow
@pytest.mark.postgres
def test_three_replicas_on_postgresql_never_oversell(make_postgres_database: Callable[[], str]) -> None:
    run_oversell(make_postgres_database(), replicas=3)


@pytest.mark.slow
def test_one_process_on_sqlite_never_oversells(sqlite_url: str) -> None:
    run_oversell(sqlite_url, replicas=1)
