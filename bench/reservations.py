"""Reservation benchmark: gRPC reserve+commit throughput and latency vs the raw database ceiling.

Usage (from the repo root, PostgreSQL on 127.0.0.1:5432):
    .venv/bin/python bench/reservations.py [--clients 64] [--seconds 10] [--servers 2]
                                           [--server-workers 32] [--load-generator auto|native|python]
                                           [--admin-url URL]

The defaults are the deployment in k8s/: two inventory replicas (the HPA's minimum) of 32 gRPC
threads each, on one database, and 64 concurrent buyers of one hot SKU (a flash sale).

In ONE run, on a fresh temporary PostgreSQL database (created and dropped here; the stock rows are
vacuumed before each phase, as pgbench does; each phase runs --warmup seconds before it counts):
  raw      the conditional UPDATE a reservation boils down to (UPDATE stock_levels SET reserved =
           reserved + 1, version = version + 1, updated_at = now WHERE ... AND on_hand - reserved >= 1),
           issued directly over one connection in a loop, one transaction per statement: the
           ceiling of one hot row when every change is its own transaction (the service groups
           concurrent reservations into one transaction, so it is not a hard limit for it).
  hot      N concurrent callers reserving 1 unit of ONE SKU through gRPC (`inventory.server` started
           as --servers subprocesses, i.e. replicas on one database, LOG_LEVEL=WARNING; caller i
           talks to replica i mod servers, as a Kubernetes Service spreads connections);
           reserve-only, then reserve+commit.
  spread   the same over 1,000 SKUs.
The callers are the C++ client bench/loadgen/grpc_loadgen.cc (built here with `make bench-loadgen`;
docs/decisions/0006): on this shared machine a Python caller's CPU per call is taken from the
servers. The hot reserve phase is then repeated with Python callers, and both ratios are printed.
It prints ops/s, p50/p99 latencies, CPU per operation of the servers, the load generator and
PostgreSQL (Linux /proc), and the ratio hot-SKU gRPC reserve throughput / raw ceiling
(target >= 50%). Results are recorded in docs/performance.md ("Reservations").
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import grpc
import psycopg
from reservations_infra import (  # a sibling module: bench/ is sys.path[0]
    CpuProbe,
    inventory_server,
    libpq_conninfo,
    place_replicas,
    temporary_database,
)

from omnistock.inventory.v1 import inventory_service_pb2 as pb
from omnistock.inventory.v1 import inventory_service_pb2_grpc as pb_grpc
from omnistock_common.config import load_internal_auth_settings
from omnistock_common.migrations import upgrade
from omnistock_common.service_auth import MAX_TTL_SECONDS, TOKEN_KEY, TokenSigner

ROOT = Path(__file__).resolve().parents[1]
HOT_STOCK = 1_000_000_000
SPREAD_SKUS = 1000
RPC_TIMEOUT = 30.0


@dataclass
class Result:
    name: str
    ops: int
    seconds: float
    latencies: list[float]
    errors: int = 0
    cpu_per_op: str = ""  # "server X us, load generator Y us, PostgreSQL Z us" when measured

    @property
    def rate(self) -> float:
        return self.ops / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def line(self) -> str:
        p50 = statistics.median(self.latencies) * 1000 if self.latencies else float("nan")
        p99 = self.percentile(0.99)
        return (
            f"{self.name:<34} {self.rate:>9.0f} ops/s   p50 {p50:>7.2f} ms   p99 {p99:>7.2f} ms"
            f"   ({self.ops} ops in {self.seconds:.1f} s, {self.errors} errors)"
            + (f"\n{'':<34} CPU per op: {self.cpu_per_op}" if self.cpu_per_op else "")
        )


def metadata(tenant_id: str) -> tuple[tuple[str, str], ...]:
    """The bench's internal credential (what the gateway sends for a staff user), signed with
    INTERNAL_TOKEN_SECRET like the servers it starts and valid MAX_TTL_SECONDS: main() refuses
    phases that would outlive it. No request id: each call gets its own from the server."""
    signer = TokenSigner(load_internal_auth_settings().token_secret, "bench", ttl_seconds=MAX_TTL_SECONDS)
    return ((TOKEN_KEY, signer.token(tenant_id, "bench", "staff")),)


def seed(stub: pb_grpc.InventoryServiceStub, tenant_id: str, skus: list[str], quantity: int) -> None:
    for start in range(0, len(skus), 1000):
        lines = [
            pb.AdjustmentLine(sku=sku, set=quantity, reason=pb.ADJUSTMENT_REASON_RECEIVED)
            for sku in skus[start : start + 1000]
        ]
        response = stub.BatchAdjust(
            pb.BatchAdjustRequest(lines=lines), metadata=metadata(tenant_id), timeout=120
        )
        if response.failed:
            raise RuntimeError(f"seeding failed for {response.failed} lines")


def vacuum(database_url: str) -> None:
    """VACUUM ANALYZE the rows the previous phase updated over and over (the raw phase alone
    updates one stock row ~30,000 times), as pgbench vacuums its tables before a run, so a phase
    does not pay for the dead row versions of the one before it.

    Not the insert-only tables: ANALYZE of a still empty `reservations` makes PostgreSQL cache a
    sequential-scan plan for the reservation_lines foreign-key check for the rest of the session,
    and that check then slows down as the table fills (measured: the reservation insert went from
    1.4 to 9.5 ms per group of 16). Autovacuum re-analyzes a growing table in production."""
    conninfo = libpq_conninfo(database_url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE stock_levels, sku_states")


def units_taken(database_url: str, tenant_id: str) -> int:
    """Units reserved or committed so far in the tenant's stock (seeded with on_hand only)."""
    conninfo = libpq_conninfo(database_url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(reserved - on_hand), 0) FROM stock_levels WHERE tenant_id = %s", (tenant_id,)
        ).fetchone()
    return int(row[0]) if row else 0


def raw_ceiling(database_url: str, tenant_id: str, sku: str, seconds: float, warmup: float) -> Result:
    """The reservation's conditional UPDATE on the real table, one connection, autocommit."""
    conninfo = libpq_conninfo(database_url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        location_id = conn.execute(
            "SELECT location_id FROM stock_levels WHERE tenant_id = %s AND sku = %s", (tenant_id, sku)
        ).fetchone()[0]
        # What one hold boils down to when every reservation is its own transaction: a
        # conditional UPDATE of the stock row (the service's holds set the same columns).
        statement = (
            "UPDATE stock_levels SET reserved = reserved + 1, version = version + 1, updated_at = %s "
            "WHERE tenant_id = %s AND sku = %s AND location_id = %s AND on_hand - reserved >= 1"
        )
        latencies: list[float] = []
        cursor = conn.cursor()
        until = time.perf_counter() + warmup
        while time.perf_counter() < until:
            cursor.execute(statement, (datetime.now(UTC), tenant_id, sku, location_id), prepare=True)
        started = time.perf_counter()
        end = started + seconds
        while (now := time.perf_counter()) < end:
            cursor.execute(statement, (datetime.now(UTC), tenant_id, sku, location_id), prepare=True)
            if cursor.rowcount != 1:
                raise RuntimeError("raw UPDATE found no stock")
            latencies.append(time.perf_counter() - now)
        elapsed = time.perf_counter() - started
    return Result("raw UPDATE, 1 connection", len(latencies), elapsed, latencies)


def run_clients(
    name: str,
    addresses: Sequence[str],
    clients: int,
    seconds: float,
    make_op: Callable[
        [str], Callable[[pb_grpc.InventoryServiceStub, int, Callable[[BaseException | None], None]], None]
    ],
    warmup: float = 0.0,
    cpu: CpuProbe | None = None,
) -> Result:
    """`clients` concurrent callers for `warmup` + `seconds`: each issues an operation, and the
    next one as soon as it completes (a closed loop, like a buyer waiting for the answer). Caller i
    talks to addresses[i % len] over one shared channel per address. Only operations completed
    in the last `seconds` are counted (the warm-up fills connections, prepared statements and
    caches, and lets groups form).

    The callers are gRPC futures chained by completion callbacks rather than one thread each:
    the load generator shares the machine with the servers and PostgreSQL, and a thread per
    caller costs ~2x its CPU per call (GIL hand-offs), which would be taken from the servers.
    """
    channels = [grpc.insecure_channel(address) for address in addresses]
    try:
        for channel in channels:
            grpc.channel_ready_future(channel).result(timeout=30)
        stubs = [pb_grpc.InventoryServiceStub(channel) for channel in channels]
        op = make_op(uuid.uuid4().hex[:8])
        latencies: list[float] = []
        errors = [0]
        lock = threading.Lock()
        stop = threading.Event()
        idle = threading.Semaphore(0)
        window = [float("inf"), float("inf")]  # [count from, count until]

        def issue(index: int, n: int) -> None:
            if stop.is_set():
                idle.release()
                return
            began = time.perf_counter()

            def done(exc: BaseException | None) -> None:
                finished = time.perf_counter()
                with lock:
                    if exc is not None:
                        errors[0] += 1
                        if errors[0] == 1:
                            detail = (
                                f"{exc.code().name} {exc.details()}"
                                if isinstance(exc, grpc.RpcError)
                                else exc
                            )
                            print(f"  {name}: {detail}", file=sys.stderr)
                    elif window[0] <= finished <= window[1]:
                        latencies.append(finished - began)
                issue(index, n + 1)

            op(stubs[index % len(stubs)], index * 1_000_000_000 + n, done)

        started = time.perf_counter()
        window[:] = [started + warmup, started + warmup + seconds]
        for index in range(clients):
            issue(index, 0)
        time.sleep(warmup)
        cpu_before = cpu.snapshot() if cpu else None
        time.sleep(seconds)
        cpu_after = cpu.snapshot() if cpu else None
        stop.set()
        for _ in range(clients):
            if not idle.acquire(timeout=RPC_TIMEOUT * 2):
                raise RuntimeError(f"{name}: a caller did not finish")
        with lock:
            ops = len(latencies)
            return Result(
                name, ops, seconds, list(latencies), errors[0], CpuProbe.per_op(cpu_before, cpu_after, ops)
            )
    finally:
        for channel in channels:
            channel.close()


@dataclass(frozen=True)
class Phase:
    """What a gRPC phase measures: Reserve (and CommitReservation when `commit`) of 1 unit of a
    SKU picked at random from `skus`, for `tenant_id`."""

    name: str
    tenant_id: str
    skus: Sequence[str]
    commit: bool


def run_python_clients(
    phase: Phase, addresses: Sequence[str], args: argparse.Namespace, cpu: CpuProbe
) -> Result:
    """run_clients with reserve_op: the Python load generator."""
    skus = phase.skus
    pick = (lambda: skus[0]) if len(skus) == 1 else (lambda: random.choice(skus))
    op = reserve_op(phase.tenant_id, pick, phase.commit)
    return run_clients(phase.name, addresses, args.clients, args.seconds, op, args.warmup, cpu)


LOADGEN = ROOT / "bench" / ".build" / "grpc_loadgen"
COUNTER_MARK = "~" * 16  # rewritten per call by grpc_loadgen with a 16-digit hex counter


def native_load_generator(build: bool) -> Path | None:
    """bench/.build/grpc_loadgen, built with `make bench-loadgen` when `build`; None if it cannot
    be built here (no g++ or no grpc++ development files)."""
    if build:
        made = subprocess.run(
            ["make", "-s", "bench-loadgen"], cwd=ROOT, capture_output=True, text=True, check=False
        )
        if made.returncode != 0:
            print(f"grpc_loadgen could not be built:\n{made.stdout}{made.stderr}", file=sys.stderr)
    return LOADGEN if LOADGEN.exists() else None


def run_native_clients(
    loadgen: Path, phase: Phase, addresses: Sequence[str], args: argparse.Namespace, cpu: CpuProbe
) -> Result:
    """The same closed loop as run_clients, driven by the C++ grpc_loadgen (bench/loadgen): the
    same Reserve request, serialised here by the generated stubs and rewritten per call there
    (order ref and idempotency key unique per phase and call, SKU at random from `skus`)."""
    name, skus = phase.name, phase.skus
    run_tag = uuid.uuid4().hex[:8]
    sku_mark = "#" * len(skus[0])
    request = pb.ReserveRequest(
        order_ref=f"bench-{run_tag}-{COUNTER_MARK}",
        lines=[pb.ReservationLineInput(sku=sku_mark, quantity=1)],
        idempotency_key=f"bench-{run_tag}-{COUNTER_MARK}",
    ).SerializeToString()
    service = pb.DESCRIPTOR.services_by_name["InventoryService"].full_name
    id_path = (
        pb.ReserveResponse.DESCRIPTOR.fields_by_name["reservation"].number,
        pb.Reservation.DESCRIPTOR.fields_by_name["id"].number,
    )
    counter_at, sku_at = _offsets(request, COUNTER_MARK.encode()), _offsets(request, sku_mark.encode())
    if len(counter_at) != 2 or len(sku_at) != 1:
        raise ValueError("the request template's placeholders are ambiguous")
    command = [
        str(loadgen),
        "--targets", ",".join(addresses),
        "--clients", str(args.clients),
        "--seconds", str(args.seconds),
        "--warmup", str(args.warmup),
        "--timeout", str(RPC_TIMEOUT),
        "--reserve-method", f"/{service}/Reserve",
        "--reserve-template", request.hex(),
        "--counter-at", ",".join(map(str, counter_at)),
        "--counter-width", str(len(COUNTER_MARK)),
        "--sku-at", ",".join(map(str, sku_at)),
        "--skus", ",".join(skus),
        "--metadata", ",".join(f"{key}={value}" for key, value in metadata(phase.tenant_id)),
    ]  # fmt: skip
    if phase.commit:
        command += [
            "--commit-method", f"/{service}/CommitReservation",
            "--id-path", ".".join(map(str, id_path)),
            "--commit-id-field",
            str(pb.CommitReservationRequest.DESCRIPTOR.fields_by_name["reservation_id"].number),
        ]  # fmt: skip
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        probe = replace(cpu, load_generator_pids=[process.pid])
        assert process.stdout is not None
        marks = {"WINDOW_START": None, "WINDOW_END": None}
        report = None
        for line in process.stdout:
            if line.strip() in marks:
                marks[line.strip()] = probe.snapshot()
            elif line.startswith("{"):
                report = json.loads(line)
        if process.wait() != 0 or report is None:
            raise RuntimeError(f"{name}: grpc_loadgen exited with {process.returncode}")
    if report["first_error"]:
        print(f"  {name}: {report['first_error']}", file=sys.stderr)
    latencies = [us / 1e6 for us in report["latencies_us"]]
    ops = len(latencies)
    return Result(
        name,
        ops,
        args.seconds,
        latencies,
        report["errors"],
        CpuProbe.per_op(marks["WINDOW_START"], marks["WINDOW_END"], ops),
    )


def _offsets(data: bytes, mark: bytes) -> list[int]:
    """Where `mark` occurs in `data` (the placeholders of a serialised request)."""
    found, at = [], data.find(mark)
    while at >= 0:
        found.append(at)
        at = data.find(mark, at + len(mark))
    return found


def reserve_op(
    tenant_id: str, pick_sku: Callable[[], str], commit: bool
) -> Callable[
    [str], Callable[[pb_grpc.InventoryServiceStub, int, Callable[[BaseException | None], None]], None]
]:
    """Reserve 1 unit (unique idempotency key per phase and call), then, with `commit`, commit it;
    `done(error or None)` is called once the operation has finished."""
    md = metadata(tenant_id)

    def make(
        phase: str,
    ) -> Callable[[pb_grpc.InventoryServiceStub, int, Callable[[BaseException | None], None]], None]:
        def op(
            stub: pb_grpc.InventoryServiceStub, n: int, done: Callable[[BaseException | None], None]
        ) -> None:
            reserving = stub.Reserve.future(
                pb.ReserveRequest(
                    order_ref=f"bench-{phase}-{n}",
                    lines=[pb.ReservationLineInput(sku=pick_sku(), quantity=1)],
                    idempotency_key=f"bench-{phase}-{n}",
                ),
                metadata=md,
                timeout=RPC_TIMEOUT,
            )

            def reserved(future: grpc.Future) -> None:
                if (exc := future.exception()) is not None or not commit:
                    done(exc)
                    return
                committing = stub.CommitReservation.future(
                    pb.CommitReservationRequest(reservation_id=future.result().reservation.id),
                    metadata=md,
                    timeout=RPC_TIMEOUT,
                )
                committing.add_done_callback(lambda f: done(f.exception()))

            reserving.add_done_callback(reserved)

        return op

    return make


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=64, help="concurrent callers (default 64)")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each phase (default 10)")
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="uncounted seconds before each phase (default 2)"
    )
    parser.add_argument(
        "--server-workers", type=int, default=32, help="gRPC server threads per server (default 32)"
    )
    parser.add_argument(
        "--servers", type=int, default=2, help="inventory server processes, i.e. replicas (default 2)"
    )
    parser.add_argument(
        "--load-generator",
        choices=("auto", "native", "python"),
        default="auto",
        help="callers: the C++ grpc_loadgen (native; auto = native if it builds here) or Python futures",
    )
    parser.add_argument(
        "--pin-replicas",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="one CPU per replica, as in k8s/ prod (default; the hot phase is repeated without it)",
    )
    parser.add_argument(
        "--admin-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL URL allowed to CREATE/DROP DATABASE",
    )
    args = parser.parse_args(argv)
    if args.warmup + args.seconds > MAX_TTL_SECONDS - 30:
        parser.error(
            f"--warmup + --seconds must stay under {MAX_TTL_SECONDS - 30} s: "
            "a phase runs on one internal credential, valid for at most MAX_TTL_SECONDS"
        )

    loadgen = None if args.load_generator == "python" else native_load_generator(build=True)
    if loadgen is None and args.load_generator == "native":
        parser.error("--load-generator native: bench/.build/grpc_loadgen could not be built (see above)")
    if loadgen is None and args.load_generator == "auto":
        print(
            "NOTE: grpc_loadgen could not be built (g++ and libgrpc++-dev are needed); the callers are\n"
            "      Python futures, which take ~250 us of CPU per call from the servers on this machine.",
            file=sys.stderr,
        )
    run_tag = uuid.uuid4().hex[:8]
    hot_tenant, spread_tenant, raw_tenant = (f"bench-{kind}-{run_tag}" for kind in ("hot", "spread", "raw"))
    spread_skus = [f"SPREAD-{i:04d}" for i in range(SPREAD_SKUS)]
    print(
        f"clients={args.clients} seconds/phase={args.seconds} servers={args.servers}"
        f" server workers={args.server_workers} cores={os.cpu_count()} load(1 min)={os.getloadavg()[0]:.1f}"
    )
    with temporary_database(args.admin_url) as database_url, ExitStack() as servers:
        upgrade("inventory", database_url)
        started = [
            servers.enter_context(inventory_server(database_url, args.server_workers))
            for _ in range(args.servers)
        ]
        addresses = [address for address, _ in started]
        cpu = CpuProbe([pid for _, pid in started])
        pinned = args.pin_replicas and place_replicas(cpu.server_pids, pinned=True)
        if args.pin_replicas and not pinned:
            print(
                "NOTE: this OS cannot pin processes to CPUs; the replicas share every core.", file=sys.stderr
            )
        with grpc.insecure_channel(addresses[0]) as channel:
            stub = pb_grpc.InventoryServiceStub(channel)
            seed(stub, hot_tenant, ["HOT"], HOT_STOCK)
            seed(stub, raw_tenant, ["HOT"], HOT_STOCK)
            seed(stub, spread_tenant, spread_skus, HOT_STOCK)

        vacuum(database_url)
        raw = raw_ceiling(database_url, raw_tenant, "HOT", args.seconds, args.warmup)
        print(raw.line(), flush=True)

        def run_phase(name: str, tenant_id: str, skus: list[str], commit: bool, native: bool) -> Result:
            phase = Phase(name, tenant_id, skus, commit)
            vacuum(database_url)
            taken_before = units_taken(database_url, tenant_id)
            if native and loadgen is not None:
                result = run_native_clients(loadgen, phase, addresses, args, cpu)
            else:
                result = run_python_clients(phase, addresses, args, cpu)
            # Every counted operation took a unit of stock (1 reserved, or 1 on hand once committed):
            # the callers cannot have been answered from anything but real reservations.
            if units_taken(database_url, tenant_id) - taken_before < result.ops:
                raise RuntimeError(f"{name}: fewer units were reserved than operations counted")
            print(result.line(), flush=True)
            return result

        hot_reserve = run_phase("gRPC reserve, hot SKU", hot_tenant, ["HOT"], False, native=True)
        run_phase("gRPC reserve+commit, hot SKU", hot_tenant, ["HOT"], True, native=True)
        run_phase("gRPC reserve, 1,000 SKUs", spread_tenant, spread_skus, False, native=True)
        run_phase("gRPC reserve+commit, 1,000 SKUs", spread_tenant, spread_skus, True, native=True)
        # The hot phase again, changing one thing at a time, for comparison.
        python_callers = unpinned = None
        if loadgen is not None:
            python_callers = run_phase(
                "gRPC reserve, hot SKU, Python callers", hot_tenant, ["HOT"], False, False
            )
        if pinned:
            place_replicas(cpu.server_pids, pinned=False)
            unpinned = run_phase("gRPC reserve, hot SKU, unpinned", hot_tenant, ["HOT"], False, native=True)

    def ratio(result: Result) -> float:
        return result.rate / raw.rate if raw.rate else 0.0

    callers = "C++ grpc_loadgen callers" if loadgen is not None else "Python callers"
    placement = "one CPU per replica" if pinned else "replicas sharing every CPU"
    print(
        f"\nratio gRPC hot-SKU reserve / raw ceiling = {ratio(hot_reserve):.0%} ({callers}, {placement};"
        f" target >= 50%): {'OK' if ratio(hot_reserve) >= 0.5 else 'BELOW TARGET'}"
    )
    if python_callers is not None:
        print(
            f"ratio with the Python callers = {ratio(python_callers):.0%} (they take their CPU from the servers)"
        )
    if unpinned is not None:
        print(
            f"ratio with the replicas not pinned = {ratio(unpinned):.0%} (their threads hand over across CPUs)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
