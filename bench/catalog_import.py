"""Benchmark: a 100,000-row product CSV through CatalogService.ImportProducts.

Starts `python -m catalog.server` as a subprocess on a fresh database (SQLite, and PostgreSQL when
reachable), streams the file in 64 KiB chunks, and prints rows/s and the server's peak RSS
(VmHWM). In the same run it measures a baseline on the same database engine, plain
`csv.reader` + `executemany` INSERT of the same rows into a bare table (one transaction per
batch), and prints catalog/baseline.

    .venv/bin/python bench/catalog_import.py [--rows 100000] [--no-postgres]
"""

from __future__ import annotations

import argparse
import csv
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import BigInteger, Column, MetaData, String, Table, create_engine, insert, text
from sqlalchemy.engine import make_url

from omnistock.catalog.v1 import catalog_service_pb2 as pb
from omnistock.catalog.v1 import catalog_service_pb2_grpc as pb_grpc
from omnistock_common.db import make_engine, normalize_url
from omnistock_common.migrations import upgrade
from omnistock_common.money import to_minor
from omnistock_common.service_auth import internal_metadata

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
CHUNK = 64 * 1024
BATCH = 500
HEADER = [
    "product_title", "sku", "price", "currency", "cost", "barcode", "option1_name", "option1_value",
    "option2_name", "option2_value", "status", "quantity", "location",
]  # fmt: skip


@dataclass
class Result:
    backend: str
    rows: int
    seconds: float
    peak_rss_kib: int
    idle_rss_kib: int
    baseline_seconds: float

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds

    @property
    def baseline_rows_per_s(self) -> float:
        return self.rows / self.baseline_seconds


def generate_csv(path: Path, rows: int) -> None:
    """Products of 4 variants each (size x colour), with cost, barcode and status."""
    sizes, colours = ("S", "M", "L", "XL"), ("Red", "Blue", "Black")
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for i in range(rows):
            writer.writerow(
                [
                    f"Product {i // 4:06d} - organic cotton tee",
                    f"SKU-{i:07d}",
                    f"{10 + i % 90}.{i % 100:02d}",
                    "USD",
                    f"{4 + i % 30}.50",
                    f"{400000000000 + i}",
                    "Size",
                    sizes[i % 4],
                    "Colour",
                    colours[(i // 4) % 3],
                    "active",
                    "",
                    "",
                ]
            )


def vm_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{key} not found for pid {pid}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_serving(channel: grpc.Channel, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"catalog server exited with {server.returncode}")
        try:
            status = health.Check(
                health_pb2.HealthCheckRequest(service="omnistock.catalog.v1.CatalogService"), timeout=1
            )
            if status.status == health_pb2.HealthCheckResponse.SERVING:
                return
        except grpc.RpcError:
            time.sleep(0.2)
    raise RuntimeError("catalog server did not become SERVING")


def requests(path: Path) -> Iterator[pb.ImportProductsRequest]:
    yield pb.ImportProductsRequest(options=pb.ImportOptions(batch_size=BATCH))
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            yield pb.ImportProductsRequest(chunk=chunk)


def run_catalog(url: str, csv_path: Path, rows: int) -> tuple[float, int, int]:
    """Import through a server subprocess; returns (seconds, peak RSS KiB, RSS KiB before import)."""
    upgrade("catalog", url)
    port = free_port()
    env = {
        **os.environ,
        "CATALOG_DATABASE_URL": url,
        "CATALOG_GRPC_PORT": str(port),
        "INVENTORY_ADDR": "127.0.0.1:1",  # the file has no quantities, inventory is never called
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen([sys.executable, "-m", "catalog.server"], env=env)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        wait_serving(channel, server)
        idle = vm_kib(server.pid, "VmRSS")
        started = time.perf_counter()
        report = pb_grpc.CatalogServiceStub(channel).ImportProducts(
            requests(csv_path), metadata=internal_metadata("bench", "bench", "staff"), timeout=3600
        )
        seconds = time.perf_counter() - started
        peak = vm_kib(server.pid, "VmHWM")
        if report.created != rows or report.errors:
            raise RuntimeError(
                f"unexpected report: created={report.created} errors={list(report.errors)[:3]}"
            )
        return seconds, peak, idle
    finally:
        channel.close()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)


def run_baseline(url: str, csv_path: Path) -> float:
    """The floor: parse the same CSV and executemany-insert its rows, one transaction per batch."""
    metadata = MetaData()
    table = Table(
        "baseline_variants",
        metadata,
        Column("id", String(36), primary_key=True),
        Column("tenant_id", String(64), nullable=False),
        Column("product_title", String(255), nullable=False),
        Column("sku", String(64), nullable=False, unique=True),
        Column("price_minor", BigInteger, nullable=False),
        Column("currency", String(3), nullable=False),
        Column("cost_minor", BigInteger),
        Column("barcode", String(64)),
        Column("option1", String(255)),
        Column("option2", String(255)),
    )
    engine = make_engine(url)
    metadata.create_all(engine)
    started = time.perf_counter()
    with csv_path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        batch: list[dict[str, object]] = []
        for row in reader:
            batch.append(
                {
                    "id": str(uuid.uuid4()),
                    "tenant_id": "bench",
                    "product_title": row["product_title"],
                    "sku": row["sku"],
                    "price_minor": to_minor(row["price"], row["currency"]),
                    "currency": row["currency"],
                    "cost_minor": to_minor(row["cost"], row["currency"]),
                    "barcode": row["barcode"],
                    "option1": f"{row['option1_name']}={row['option1_value']}",
                    "option2": f"{row['option2_name']}={row['option2_value']}",
                }
            )
            if len(batch) == BATCH:
                with engine.begin() as conn:
                    conn.execute(insert(table), batch)
                batch = []
        if batch:
            with engine.begin() as conn:
                conn.execute(insert(table), batch)
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds


def postgres_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), 1.0):
            return True
    except OSError:
        return False


def bench_backend(backend: str, csv_path: Path, rows: int, workdir: Path) -> Result:
    if backend == "sqlite":
        catalog_url = f"sqlite:///{workdir / 'catalog.db'}"
        baseline_url = f"sqlite:///{workdir / 'baseline.db'}"
        seconds, peak, idle = run_catalog(catalog_url, csv_path, rows)
        return Result(backend, rows, seconds, peak, idle, run_baseline(baseline_url, csv_path))
    admin = create_engine(normalize_url(POSTGRES_ADMIN_URL), isolation_level="AUTOCOMMIT")
    names = [f"omnistock_bench_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    try:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        catalog_url, baseline_url = (
            make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
            for name in names
        )
        seconds, peak, idle = run_catalog(catalog_url, csv_path, rows)
        return Result(backend, rows, seconds, peak, idle, run_baseline(baseline_url, csv_path))
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--no-postgres", action="store_true", help="only SQLite")
    args = parser.parse_args()
    backends = ["sqlite"]
    if not args.no_postgres:
        if postgres_reachable():
            backends.append("postgresql")
        else:
            print(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: SQLite only", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="catalog-bench-") as tmp:
        workdir = Path(tmp)
        csv_path = workdir / "products.csv"
        generate_csv(csv_path, args.rows)
        size_mib = csv_path.stat().st_size / 2**20
        print(
            f"CSV: {args.rows:,} rows, {size_mib:.1f} MiB, "
            f"streamed in {CHUNK // 1024} KiB chunks, batch {BATCH}"
        )
        results = [bench_backend(b, csv_path, args.rows, workdir) for b in backends]
    print()
    print(
        f"{'backend':<11} {'import s':>9} {'rows/s':>9} {'peak RSS':>10} {'idle RSS':>10} "
        f"{'baseline s':>11} {'baseline rows/s':>16} {'ratio':>6}"
    )
    for r in results:
        print(
            f"{r.backend:<11} {r.seconds:>9.1f} {r.rows_per_s:>9,.0f} {r.peak_rss_kib / 1024:>7.1f} MiB "
            f"{r.idle_rss_kib / 1024:>6.1f} MiB {r.baseline_seconds:>11.1f} {r.baseline_rows_per_s:>16,.0f} "
            f"{r.rows_per_s / r.baseline_rows_per_s:>6.2f}"
        )
    print(
        "\nratio = catalog rows/s / baseline rows/s (baseline: csv.reader + executemany INSERT, same engine)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
