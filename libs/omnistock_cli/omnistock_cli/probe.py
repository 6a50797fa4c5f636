"""`python -m omnistock_cli.probe`: health checks for containers that have no probe binaries.

The runtime images are python:slim with our venv and nothing else (no curl, no
grpc_health_probe), so docker-compose healthchecks, the nameko worker's liveness probe and the
"wait for migrations" init container all run through this module. Kubernetes uses its native
`grpc:` and `httpGet:` probes for the servers; these commands cover what it cannot express.

Every command exits 0 when healthy and 1 otherwise, printing one line on failure.
"""

from __future__ import annotations

import importlib
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlparse

import click

# TCP state code of an established connection in /proc/net/tcp (include/net/tcp_states.h).
TCP_ESTABLISHED = "01"
PROC_NET_TCP = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))
AMQP_DEFAULT_PORTS = {"amqp": 5672, "amqps": 5671}


def grpc_serving(address: str, service: str, timeout: float) -> tuple[bool, str]:
    """Ask the standard grpc.health.v1 service; True only for SERVING (not NOT_SERVING/UNKNOWN)."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(address) as channel:
        try:
            response = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=timeout
            )
        except grpc.RpcError as err:
            code = err.code() if isinstance(err, grpc.Call) else err
            return False, f"{address}: health check failed: {code}"
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
    return response.status == health_pb2.HealthCheckResponse.SERVING, f"{address}: {status}"


def http_ok(url: str, timeout: float) -> tuple[bool, str]:
    """GET the URL; healthy on any 2xx."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 200 <= response.status < 300, f"{url}: HTTP {response.status}"
    except urllib.error.HTTPError as err:
        return False, f"{url}: HTTP {err.code}"
    except (urllib.error.URLError, OSError) as err:
        return False, f"{url}: {err}"


def established_remote_ports(tables: Iterable[str]) -> set[int]:
    """Remote ports of ESTABLISHED connections in /proc/net/tcp-formatted text.

    Lines look like `0: 0100007F:A1B2 0100007F:1628 01 ...`: local, remote (hex ip:port), state.
    """
    ports: set[int] = set()
    for table in tables:
        for line in table.splitlines()[1:]:
            fields = line.split()
            if len(fields) < 4 or fields[3] != TCP_ESTABLISHED:
                continue
            ports.add(int(fields[2].rsplit(":", 1)[1], 16))
    return ports


def amqp_port(url: str) -> int:
    parsed = urlparse(url)
    return parsed.port or AMQP_DEFAULT_PORTS.get(parsed.scheme, 5672)


def read_tcp_tables(paths: Iterable[Path] = PROC_NET_TCP) -> list[str]:
    return [path.read_text() for path in paths if path.exists()]


def migrations_pending(service: str) -> list[str]:
    """Alembic heads of the service that its database has not reached yet (empty: up to date).

    Uses the service's own settings (<SVC>_DATABASE_URL) and migration scripts, read-only.
    """
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from omnistock_common.db import make_engine
    from omnistock_common.migrations import alembic_config

    url = importlib.import_module(f"{service}.config").load_settings().database_url
    heads = set(ScriptDirectory.from_config(alembic_config(service, url)).get_heads())
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()
    return sorted(heads - current)


@click.group()
def probe() -> None:
    """Container health probes (exit 0 healthy, 1 not)."""


@probe.command("grpc")
@click.argument("address")
@click.option("--service", default="", help="Service name to check; '' is the whole server.")
@click.option("--timeout", type=float, default=2.0, show_default=True)
def grpc_command(address: str, service: str, timeout: float) -> None:
    """Healthy when the gRPC server at ADDRESS (host:port) reports SERVING."""
    ok, message = grpc_serving(address, service, timeout)
    if not ok:
        click.echo(message, err=True)
        sys.exit(1)


@probe.command("http")
@click.argument("url")
@click.option("--timeout", type=float, default=2.0, show_default=True)
def http_command(url: str, timeout: float) -> None:
    """Healthy when GET URL answers 2xx (e.g. the gateway's /readyz)."""
    ok, message = http_ok(url, timeout)
    if not ok:
        click.echo(message, err=True)
        sys.exit(1)


@probe.command("amqp-connected")
@click.option("--amqp-url", envvar="AMQP_URL", default="amqp://127.0.0.1:5672/", show_default=True)
def amqp_connected_command(amqp_url: str) -> None:
    """Healthy while this network namespace holds an established connection to the AMQP port.

    A nameko worker keeps one long-lived broker connection; if it has none for a whole
    liveness window it is stuck reconnecting and a restart is the cure. Run inside the
    worker's pod, whose network namespace only the worker uses.
    """
    port = amqp_port(amqp_url)
    if port not in established_remote_ports(read_tcp_tables()):
        click.echo(f"no established connection to AMQP port {port}", err=True)
        sys.exit(1)


@probe.command("wait-migrated")
@click.argument("service")
@click.option("--timeout", type=float, default=300.0, show_default=True, help="Give up after this long.")
@click.option("--interval", type=float, default=2.0, show_default=True)
def wait_migrated_command(service: str, timeout: float, interval: float) -> None:
    """Wait until SERVICE's database is at the Alembic head of this image's code.

    Used as an init container: a new version's pods start serving only after its migration
    Job has run, so code never runs against an older schema. Never migrates itself.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            pending = migrations_pending(service)
            problem = f"{service}: database not at head, missing {', '.join(pending)}" if pending else ""
        except Exception as exc:  # database not up yet, or not created: keep waiting
            problem = f"{service}: cannot read migration state: {type(exc).__name__}: {exc}"
        if not problem:
            click.echo(f"{service}: database is at head", err=True)
            return
        if time.monotonic() >= deadline:
            click.echo(problem, err=True)
            sys.exit(1)
        time.sleep(interval)


if __name__ == "__main__":
    probe(prog_name="python -m omnistock_cli.probe")
