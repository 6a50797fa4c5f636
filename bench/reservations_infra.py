"""Processes, databases and CPU placement for bench/reservations.py: the inventory replicas it
starts, the throwaway database it runs on, and where their CPU time is read from (/proc).

Kept apart from the phases and callers so that reservations.py reads as the benchmark itself.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import psycopg
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process from /proc (Linux), 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _postgres_pids() -> list[int]:
    """PostgreSQL backends and helpers (processes of the postgres user) on this machine."""
    found = subprocess.run(["pgrep", "-u", "postgres"], capture_output=True, text=True, check=False)
    return [int(pid) for pid in found.stdout.split()]


@dataclass
class CpuProbe:
    """CPU seconds used so far by the servers, this load generator and PostgreSQL: where a
    phase's CPU went on a shared machine (Linux /proc; empty elsewhere)."""

    server_pids: list[int]
    load_generator_pids: list[int] = field(default_factory=list)  # besides this process

    def snapshot(self) -> tuple[float, float, dict[int, float]] | None:
        if not Path("/proc/self/stat").exists():
            return None
        servers = sum(_process_cpu_seconds(pid) for pid in self.server_pids)
        postgres = {pid: _process_cpu_seconds(pid) for pid in _postgres_pids()}
        callers = time.process_time() + sum(_process_cpu_seconds(pid) for pid in self.load_generator_pids)
        return servers, callers, postgres

    @staticmethod
    def per_op(
        before: tuple[float, float, dict[int, float]] | None,
        after: tuple[float, float, dict[int, float]] | None,
        ops: int,
    ) -> str:
        """Per-process deltas: a PostgreSQL process that ended in between is left out (its
        CPU cannot be read any more), one that started counts from zero."""
        if before is None or after is None or not ops:
            return ""
        server = after[0] - before[0]
        caller = after[1] - before[1]
        postgres = sum(cpu - before[2].get(pid, 0.0) for pid, cpu in after[2].items())
        return (
            f"server {1e6 * server / ops:.0f} us, load generator {1e6 * caller / ops:.0f} us,"
            f" PostgreSQL {1e6 * postgres / ops:.0f} us"
        )


def libpq_conninfo(url: str) -> str:
    """A SQLAlchemy URL (any driver suffix) as the plain postgresql:// URL psycopg.connect takes."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def temporary_database(admin_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database for this run, dropped afterwards whatever happens."""
    name = f"omnistock_bench_{uuid.uuid4().hex[:10]}"
    admin_conninfo = libpq_conninfo(admin_url)
    with psycopg.connect(admin_conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin_conninfo).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def inventory_server(database_url: str, workers: int) -> Iterator[tuple[str, int]]:
    """`python -m inventory.server` on a free port; yields (address, pid) once it reports SERVING."""
    port = free_port()
    env = {
        **os.environ,
        "INVENTORY_DATABASE_URL": database_url,
        "INVENTORY_GRPC_PORT": str(port),
        "INVENTORY_GRPC_WORKERS": str(workers),
        # Reserve calls share a connection per group (group commit): the pool need not match
        # the threads, and 2 x 64 connections would exhaust PostgreSQL's max_connections.
        "INVENTORY_DB_POOL_SIZE": str(min(workers, 16)),
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen([sys.executable, "-m", "inventory.server"], cwd=ROOT, env=env)
    address = f"127.0.0.1:{port}"
    try:
        with grpc.insecure_channel(address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"inventory server exited with {process.returncode}")
                try:
                    if health.Check(health_pb2.HealthCheckRequest(), timeout=1).status == 1:
                        break
                except grpc.RpcError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("inventory server did not report SERVING within 60 s")
                time.sleep(0.2)
        yield address, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def place_replicas(pids: Sequence[int], pinned: bool) -> bool:
    """Pin replica i's threads to CPU i (mod the CPUs this bench may use), or let every replica
    use all of them; False where the OS cannot (no sched_setaffinity).

    Pinned is the deployment in k8s/ (prod): a Guaranteed pod of 1 CPU, which the kubelet's static
    CPU manager gives an exclusive core. A replica runs Python under one GIL, so it cannot use more
    than about a core anyway; spread over cores, every hand-over of the GIL or of a request between
    its threads wakes a thread on another CPU (an inter-processor interrupt, costly in a VM), and on
    this machine that alone made the same work take ~40% more CPU (docs/decisions/0007).
    Threads started later inherit the mask of the thread that starts them.
    """
    if not hasattr(os, "sched_setaffinity"):
        return False
    cpus = sorted(os.sched_getaffinity(0))
    for index, pid in enumerate(pids):
        mask = {cpus[index % len(cpus)]} if pinned else set(cpus)
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                os.sched_setaffinity(int(task), mask)
            except OSError:  # a thread that ended meanwhile
                continue
    return True
