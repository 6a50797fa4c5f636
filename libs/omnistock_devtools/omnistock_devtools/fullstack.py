"""Every OmniStock deployable as subprocesses on free ports, for tests and benchmarks.

`make run` uses fixed ports (8080, 50051..., 8701/8702) and var/*.db; someone's `make run` may be
using them while a test runs. `FullStack` starts the SAME commands (deploy/deployables.toml, the
generated Procfile's lines) with every port, database
URL and the AMQP virtual host chosen by the caller, so the full-stack test and the sync-latency
benchmark exercise exactly what a developer runs, in isolation.

RabbitMQ isolation: nameko's exchange and queue names are fixed by the service names
(`inventory.events`, `evt-inventory-stock_changed--<worker>...`), so two channels workers on the
same virtual host share one queue and each receives only part of the events. `isolated_vhost()`
creates a throw-away virtual host with `rabbitmqctl` when that works on this machine, and
otherwise falls back to the URL's own vhost with a loud warning (then a concurrently running
`make run` can steal the stack's events).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlparse, urlunparse

from omnistock_common.config import project_root
from omnistock_devtools.demo import allow_sandboxes
from omnistock_devtools.registry import Registry

REGISTRY = Registry.load()
# Deployable -> settings prefix of its gRPC server (<PREFIX>_GRPC_PORT, <PREFIX>_ADDR).
GRPC_SERVICES: dict[str, str] = {d.name: d.env_prefix for d in REGISTRY.grpc}
# Sandbox -> the variable its command takes the port from.
SANDBOXES: dict[str, str] = {d.name: d.port_env or "" for d in REGISTRY.of_kind("sandbox")}
(GATEWAY,) = REGISTRY.of_kind("gateway")
# Migrated before anything starts, exactly like `make migrate`.
MIGRATED_SERVICES = tuple(REGISTRY.databases)
# Every deployable but the connectors and sandboxes of channels other than Shopify and WooCommerce:
# the stack of a test about the sync engine, orders or pricing, which connects those two only
# (fewer processes to start; the marketplace channels have their own full-stack tests).
_FIRST_CHANNELS = {"shopify", "woocommerce"}
SHOPIFY_AND_WOOCOMMERCE: tuple[str, ...] = tuple(
    d.name
    for d in REGISTRY.deployables
    if not (d.kind == "connector" and not set(d.channel_types) & _FIRST_CHANNELS)
    and not (d.kind == "sandbox" and d.name not in {f"{c}-sandbox" for c in _FIRST_CHANNELS})
)
# The sandbox app credentials; the Shopify sandbox and connector both read these variables.
SHOPIFY_CLIENT_ID = "sandbox-shopify-client-id"
SHOPIFY_CLIENT_SECRET = "sandbox-shopify-client-secret"
STOP_GRACE_SECONDS = 15.0


class StackError(RuntimeError):
    """A process of the stack did not start; the message carries the tail of its log."""


def free_port() -> int:
    """A port nothing listens on right now (bind to 0, read it, release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rabbitmqctl(*args: str) -> bool:
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        return False
    try:
        done = subprocess.run([ctl, *args], capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@contextlib.contextmanager
def isolated_vhost(amqp_url: str, prefix: str = "omnistock-stack") -> Iterator[tuple[str, bool]]:
    """(AMQP URL on a fresh virtual host, True) when rabbitmqctl can make one, else (amqp_url, False)."""
    parsed = urlparse(amqp_url)
    vhost = f"{prefix}-{uuid.uuid4().hex[:10]}"
    user = parsed.username or "guest"
    if not (
        _rabbitmqctl("add_vhost", vhost)
        and _rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
    ):
        print(
            "!!! fullstack: could not create a RabbitMQ virtual host (rabbitmqctl unavailable or refused); "
            "using the shared one: a channels worker of another stack (e.g. `make run`) on this broker "
            "competes for the same events !!!",
            file=sys.stderr,
        )
        yield amqp_url, False
        return
    try:
        yield urlunparse(parsed._replace(path="/" + quote(vhost, safe=""))), True
    finally:
        _rabbitmqctl("delete_vhost", vhost)


@dataclass
class Process:
    name: str
    command: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class FullStack:
    """The registry's deployables on free ports. Use as a context manager; `stop()` is idempotent.

    `database_urls` maps each of MIGRATED_SERVICES to its own database (SQLite files or fresh
    PostgreSQL databases); `env` adds or overrides variables for every process.
    """

    workdir: Path
    database_urls: Mapping[str, str]
    redis_url: str
    amqp_url: str
    env: Mapping[str, str] = field(default_factory=dict)
    log_level: str = "WARNING"
    ready_timeout: float = 90.0
    # Deployables to start (None: all of them).
    only: tuple[str, ...] | None = None
    # Deployable -> how many copies of it run (default 1), e.g. {"pricing-worker": 2} to prove
    # something happens once with several replicas. Only for processes that bind no port (workers):
    # the copies are named "<name>#2", "<name>#3"...
    replicas: Mapping[str, int] = field(default_factory=dict)
    processes: dict[str, Process] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    # ------------------------------------------------------------------ addresses
    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports[GATEWAY.name]}"

    def sandbox_url(self, sandbox: str) -> str:
        """Where the sandbox deployable `sandbox` (e.g. "tiktok-sandbox") listens."""
        return f"http://127.0.0.1:{self.ports[sandbox]}"

    @property
    def shopify_sandbox_url(self) -> str:
        return self.sandbox_url("shopify-sandbox")

    @property
    def woocommerce_sandbox_url(self) -> str:
        return self.sandbox_url("woocommerce-sandbox")

    def grpc_addr(self, process: str) -> str:
        return f"127.0.0.1:{self.ports[process]}"

    def process_env(self) -> dict[str, str]:
        venv_bin = Path(sys.executable).parent
        env = {
            **os.environ,
            "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": self.log_level,
            "LOG_FORMAT": "text",
            "REDIS_URL": self.redis_url,
            "AMQP_URL": self.amqp_url,
            str(GATEWAY.port_env): str(self.ports[GATEWAY.name]),
            "PUBLIC_BASE_URL": self.gateway_url,
            "SHOPIFY_CLIENT_ID": SHOPIFY_CLIENT_ID,
            "SHOPIFY_CLIENT_SECRET": SHOPIFY_CLIENT_SECRET,
            # TikTok sends the seller back to the redirect URL registered for the app (the
            # authorize URL names none): this stack's callback.
            "TIKTOK_SANDBOX_REDIRECT_URI": f"{self.gateway_url}/api/v1/channels/oauth/callback",
            # Register/login stay fast; the argon2 cost is not what these runs measure.
            "ARGON2_TIME_COST": "1",
            "ARGON2_MEMORY_KIB": "1024",
            "ARGON2_PARALLELISM": "1",
            "GATEWAY_JWT_SECRET": "fullstack-only-jwt-secret-" + "x" * 32,
            "OAUTH_STATE_SECRET": "fullstack-only-oauth-state-secret-0123456789",
            # channels.worker runs every entry point in eventlet's tpool (worker.yaml: >= max_workers + 4).
            "EVENTLET_THREADPOOL_SIZE": os.environ.get("EVENTLET_THREADPOOL_SIZE", "16"),
        }
        for service, url in self.database_urls.items():
            env[f"{service.upper()}_DATABASE_URL"] = url
        for process, prefix in GRPC_SERVICES.items():
            env[f"{prefix}_GRPC_PORT"] = str(self.ports[process])
            env[f"{prefix}_ADDR"] = self.grpc_addr(process)
        for process, variable in SANDBOXES.items():
            env[variable] = str(self.ports[process])
        env.update(self.env)
        env["CHANNEL_ALLOWED_HOSTS"] = allow_sandboxes(
            env.get("CHANNEL_ALLOWED_HOSTS", ""), *(self.sandbox_url(name) for name in SANDBOXES)
        )
        return env

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> FullStack:
        try:
            self.start(self.only)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, names: Iterable[str] | None = None) -> None:
        """Migrate every database, start the deployables, wait until each one answers."""
        from omnistock_devtools.migrated import migrate

        commands = {d.name: d.command for d in REGISTRY.deployables}
        wanted = list(names) if names is not None else list(commands)
        unknown = sorted((set(wanted) | set(self.replicas)) - set(commands))
        if unknown:
            raise StackError(f"not in deploy/deployables.toml: {unknown}")
        listening = {GATEWAY.name, *GRPC_SERVICES, *SANDBOXES}
        bad = sorted(n for n, count in self.replicas.items() if count < 1 or (count > 1 and n in listening))
        if bad:
            raise StackError(f"replicas: at least 1, and more only for processes without a port: {bad}")
        for name in [GATEWAY.name, *GRPC_SERVICES, *SANDBOXES]:
            self.ports.setdefault(name, free_port())
        for service in MIGRATED_SERVICES:
            migrate(service, self.database_urls[service])
        logs = self.workdir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        env = self.process_env()
        # /readyz waits for the backends this stack runs, not for ones left out (`only`).
        if "GATEWAY_BACKENDS" not in self.env:
            env["GATEWAY_BACKENDS"] = ",".join(REGISTRY.backends_of(GATEWAY, wanted))
        for deployable in wanted:
            for copy in range(1, self.replicas.get(deployable, 1) + 1):
                name = deployable if copy == 1 else f"{deployable}#{copy}"
                log_path = logs / f"{name.replace('#', '-')}.log"
                log = log_path.open("wb")
                # Its own session: stop() signals the whole group (the shell and what it started).
                popen = subprocess.Popen(
                    ["/bin/sh", "-c", f"exec {commands[deployable]}"],
                    cwd=project_root(),
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                log.close()
                self.processes[name] = Process(name, commands[deployable], popen, log_path)
        self.wait_ready()

    def _check_alive(self) -> None:
        for proc in self.processes.values():
            if proc.popen.poll() is not None:
                raise StackError(
                    f"{proc.name} exited with {proc.popen.returncode}: {proc.command}\n{proc.tail()}"
                )

    def wait_ready(self) -> None:
        """Every gRPC server SERVING, every sandbox and the gateway's /readyz answering 200."""
        from omnistock_cli.probe import grpc_serving

        deadline = time.monotonic() + self.ready_timeout
        pending = set(self.processes)
        while pending:
            self._check_alive()
            for name in sorted(pending):
                if name in GRPC_SERVICES:
                    ok = grpc_serving(self.grpc_addr(name), "", 1.0)[0]
                elif name in SANDBOXES:
                    ok = _http_ok(f"http://127.0.0.1:{self.ports[name]}/_sandbox/config")
                elif name == GATEWAY.name:
                    ok = _http_ok(f"{self.gateway_url}/readyz")
                else:  # workers serve nothing; being alive after the others are up is the check
                    ok = True
                if ok:
                    pending.discard(name)
            if pending and time.monotonic() > deadline:
                tails = "\n".join(f"--- {n}\n{self.processes[n].tail()}" for n in sorted(pending))
                raise StackError(f"not ready within {self.ready_timeout}s: {sorted(pending)}\n{tails}")
            if pending:
                time.sleep(0.25)
        self._check_alive()

    def stop(self) -> None:
        """SIGTERM every process group, then SIGKILL whatever outlives the grace period."""
        for proc in self.processes.values():
            if proc.popen.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for proc in self.processes.values():
            remaining = max(0.1, deadline - time.monotonic())
            try:
                proc.popen.wait(remaining)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.popen.pid, signal.SIGKILL)
                proc.popen.wait(5)
        self.processes.clear()


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False
