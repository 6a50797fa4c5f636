"""Benchmark: the gateway's order export path (GET /orders/export) for growing numbers of rows.

For each format and row count a fresh Python process feeds the gateway's own export code
(gateway.mapping.order_rows.export_rows -> gateway.tabular csv_chunks, or write_xlsx + file_chunks)
with ExportOrdersResponse pages of 500 generated one-line orders, exactly as the route gets them
from the orders stream, discards the bytes as a client would receive them, and reports wall and CPU
seconds (CPU time is what to compare on a shared machine), rows per CPU second, output size and the process's peak RSS (VmHWM) over its RSS before the export. The gRPC
transfer and Flask are left out: they handle one page at a time whatever the export's size.

    .venv/bin/python bench/order_export.py [--rows 20000 200000] [--formats csv xlsx]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator

PAGE = 500


def _vm(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _pages(rows: int) -> Iterator[object]:
    from omnistock.common.v1 import common_pb2
    from omnistock.orders.v1 import orders_service_pb2 as pb

    def usd(minor: int) -> common_pb2.Money:
        return common_pb2.Money(amount_minor=minor, currency="USD")

    for start in range(0, rows, PAGE):
        yield pb.ExportOrdersResponse(
            orders=[
                pb.Order(
                    id=f"order-{i:08d}",
                    source="SHOPIFY",
                    connection_id="c0ffee00-1234-4abc-8def-00000000abcd",
                    external_id=str(5_000_000 + i),
                    external_name=f"#{i}",
                    customer_email=f"customer{i}@example.test",
                    customer_name=f"Customer {i}",
                    status=pb.ORDER_STATUS_PAID,
                    channel_status={"financial_status": "paid"},
                    totals=pb.Totals(subtotal=usd(1999 + i), shipping=usd(499), total=usd(2498 + i)),
                    shipping_address=pb.Address(
                        name=f"Customer {i}", line1="1 High Street", city="London", country_code="GB"
                    ),
                    lines=[
                        pb.OrderLine(
                            id=f"line-{i:08d}",
                            sku=f"SKU-{i % 997}",
                            title="Red tee, M",
                            quantity=1,
                            unit_price=usd(1999 + i),
                            quantity_reserved=1,
                            sku_known=True,
                        )
                    ],
                )
                for i in range(start, min(rows, start + PAGE))
            ]
        )


def child(fmt: str, rows: int) -> None:
    from gateway.mapping.order_rows import COLUMNS, export_rows
    from gateway.tabular import csv_chunks, file_chunks, temporary_file, write_xlsx

    before = _vm("VmRSS")
    started, cpu_started = time.perf_counter(), time.process_time()
    sent = 0
    if fmt == "csv":
        for chunk in csv_chunks(COLUMNS, export_rows(_pages(rows))):  # type: ignore[arg-type]
            sent += len(chunk)
    else:
        out = temporary_file()
        write_xlsx(COLUMNS, export_rows(_pages(rows)), out, sheet="Orders")  # type: ignore[arg-type]
        for chunk in file_chunks(out):
            sent += len(chunk)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu": cpu,
                "bytes": sent,
                "rss_before_kib": before,
                "peak_kib": _vm("VmHWM"),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[20_000, 200_000])
    parser.add_argument("--formats", nargs="+", choices=("csv", "xlsx"), default=["csv", "xlsx"])
    parser.add_argument("--child", nargs=2, metavar=("FORMAT", "ROWS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print("| format | rows | seconds | CPU s | rows/CPU s | output | peak RSS | RSS before export | growth |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for fmt in args.formats:
        for rows in args.rows:
            done = subprocess.run(
                [sys.executable, __file__, "--child", fmt, str(rows)],
                capture_output=True,
                text=True,
                check=True,
            )
            r = json.loads(done.stdout.strip().splitlines()[-1])
            print(
                f"| {fmt} | {rows:,} | {r['seconds']:.1f} | {r['cpu']:.1f} | {rows / r['cpu']:,.0f} | "
                f"{r['bytes'] / 2**20:.1f} MiB | {r['peak_kib'] / 1024:.1f} MiB | "
                f"{r['rss_before_kib'] / 1024:.1f} MiB | {(r['peak_kib'] - r['rss_before_kib']) / 1024:.1f} MiB |",
                flush=True,
            )


if __name__ == "__main__":
    main()
