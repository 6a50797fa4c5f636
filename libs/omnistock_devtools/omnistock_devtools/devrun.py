"""`make run`: every OmniStock process as a local process, stopped together on Ctrl-C.

Reads the registry of deployables (deploy/deployables.toml, whose commands are also the
generated Procfile), checks that Redis and RabbitMQ answer and that no port is taken, seeds the
demo tenant, starts everything under honcho (services, workers, the channel connectors and the
channel sandboxes), and once /readyz says ready connects the demo tenant to the two sandboxes
(omnistock_devtools.demo) and announces the URLs, so a new user sees stock flow to "Shopify" and
"WooCommerce" without any account.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

from honcho.manager import Manager

from omnistock_common.config import EnvReader, project_root
from omnistock_devtools.demo import DEMO_EMAIL, DEMO_PASSWORD, DemoError, allow_sandboxes, ensure_demo
from omnistock_devtools.marketplaces import MARKETPLACES
from omnistock_devtools.registry import Deployable, Registry

READY_TIMEOUT_SECONDS = 90
# The Shopify sandbox's app credentials (channel_sandboxes.shopify.app.ShopifyConfig defaults).
# The sandbox and the Shopify connector both read SHOPIFY_CLIENT_ID/SECRET, so exporting one pair
# to every process is what makes the OAuth HMACs and the code exchange agree.
SANDBOX_SHOPIFY_CLIENT_ID = "sandbox-shopify-client-id"
SANDBOX_SHOPIFY_CLIENT_SECRET = "sandbox-shopify-client-secret"


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), 1.0):
            return True
    except OSError:
        return False


def _check_infrastructure(env: EnvReader) -> list[str]:
    problems = []
    redis_url = env.str("REDIS_URL", "redis://127.0.0.1:6379/0")
    amqp_url = env.str("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    if not _reachable(redis_url, 6379):
        problems.append(f"Redis is not reachable at {redis_url} (start it: redis-server --daemonize yes)")
    if not _reachable(amqp_url, 5672):
        problems.append(f"RabbitMQ is not reachable at {amqp_url} (start it: rabbitmq-server -detached)")
    return problems


def port_variable(deployable: Deployable) -> str:
    """The variable that moves a deployable's port: its port_env, or <PREFIX>_GRPC_PORT."""
    return deployable.port_env or f"{deployable.env_prefix}_GRPC_PORT"


def local_ports(registry: Registry, env: EnvReader) -> dict[str, int]:
    """Deployable name -> the port it will listen on here (registry default unless overridden)."""
    return {
        d.name: env.int(port_variable(d), d.port, minimum=1, maximum=65535)
        for d in registry.deployables
        if d.port is not None
    }


def _busy_ports(ports: dict[str, int]) -> list[str]:
    """Ports some other process already listens on: honcho would start everything, see one
    process die on bind, and stop the rest; naming the port up front is kinder.

    The probe binds with SO_REUSEADDR, as the servers themselves do: the connections of a run
    that was just stopped linger in TIME-WAIT for up to a minute, and without it they counted as
    "in use", so `make run` refused to start again right after Ctrl-C. A listening socket still
    makes the bind fail."""
    busy = []
    for name, port in ports.items():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                busy.append(f"{name} port {port} is in use (another `make run`?)")
    return busy


def _wait_ready(base_url: str) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base_url}/readyz", timeout=2) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    return False


def _announce_when_ready(base_url: str, shopify_url: str, woo_url: str, marketplaces: dict[str, str]) -> None:
    """Wait for /readyz, connect the demo tenant to every sandbox, then print the banner."""
    if not _wait_ready(base_url):
        print(
            f"!!! OmniStock did not become ready within {READY_TIMEOUT_SECONDS}s; see the logs above",
            flush=True,
        )
        return
    bar = "=" * 72
    try:
        demo_lines = ensure_demo(base_url, shopify_url, woo_url, marketplaces=marketplaces).lines(base_url)
    except DemoError as exc:
        demo_lines = [f" !!! the demo channels could not be set up: {exc}", " (OmniStock itself is running)"]
    print(
        f"\n{bar}\n OmniStock is ready: {base_url}\n"
        f"   Dashboard:  {base_url}/  (make web-dev: the same with hot reload)\n"
        f"   API docs:   {base_url}/api/v1/docs\n"
        f"   Demo login: {DEMO_EMAIL} / {DEMO_PASSWORD}\n" + "\n".join(demo_lines) + "\n"
        f" Press Ctrl-C to stop everything.\n{bar}\n",
        flush=True,
    )


def _runnable(command: str, root: Path) -> str | None:
    """Why a Procfile line cannot start here (None when it can).

    A nameko worker whose module or config file is not in this checkout yet would exit at once,
    and honcho then stops every other process; skipping it loudly keeps the rest usable.
    """
    argv = shlex.split(command)
    if argv[:2] != ["nameko", "run"]:
        return None
    config = argv[argv.index("--config") + 1] if "--config" in argv else None
    module = argv[-1]
    if config is not None and not (root / config).is_file():
        return f"{config} does not exist"
    if importlib.util.find_spec(module.split(":")[0]) is None:
        return f"module {module} is not importable"
    return None


def main() -> int:
    env = EnvReader()
    root = project_root()
    registry = Registry.load()
    ports = local_ports(registry, env)
    (gateway,) = registry.of_kind("gateway")
    gateway_port = ports[gateway.name]
    shopify_port = ports["shopify-sandbox"]
    woo_port = ports["woocommerce-sandbox"]
    env.raise_if_invalid()
    problems = _check_infrastructure(env) + _busy_ports(ports)
    if problems:
        for problem in problems:
            print(f"make run: {problem}", file=sys.stderr)
        return 1

    venv_bin = Path(sys.executable).parent
    base_url = f"http://127.0.0.1:{gateway_port}"
    sandboxes = (f"http://127.0.0.1:{shopify_port}", f"http://127.0.0.1:{woo_port}")
    # The other channels' sandboxes, by the channel types they stand in for (Meta's serves two).
    marketplaces = {
        channel: f"http://127.0.0.1:{ports[market.sandbox]}"
        for channel, market in MARKETPLACES.items()
        if market.sandbox in ports
    }
    process_env = {
        **os.environ,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
        # Every listening deployable's port variable (the Procfile lines use some of them).
        **{port_variable(registry.get(name)): str(port) for name, port in ports.items()},
        # ... and where the callers find each gRPC server, should one have moved.
        **{f"{d.env_prefix}_ADDR": f"127.0.0.1:{ports[d.name]}" for d in registry.grpc},
        # /readyz checks what the registry says the gateway calls (what `make run` starts).
        "GATEWAY_BACKENDS": env.str("GATEWAY_BACKENDS", ",".join(registry.backends_of(gateway))),
        # OAuth redirect_uri = PUBLIC_BASE_URL + /api/v1/channels/oauth/callback: this gateway.
        "PUBLIC_BASE_URL": env.str("PUBLIC_BASE_URL", base_url),
        "SHOPIFY_CLIENT_ID": env.str("SHOPIFY_CLIENT_ID", SANDBOX_SHOPIFY_CLIENT_ID),
        "SHOPIFY_CLIENT_SECRET": env.str("SHOPIFY_CLIENT_SECRET", SANDBOX_SHOPIFY_CLIENT_SECRET),
        "LOG_FORMAT": os.environ.get("LOG_FORMAT", "text"),
        # channels.worker runs every entry point in eventlet's tpool (worker.yaml: >= max_workers + 4).
        "EVENTLET_THREADPOOL_SIZE": env.str("EVENTLET_THREADPOOL_SIZE", "16"),
        "CHANNEL_ALLOWED_HOSTS": allow_sandboxes(
            env.str("CHANNEL_ALLOWED_HOSTS", ""), *sandboxes, *dict.fromkeys(marketplaces.values())
        ),
    }
    seed = subprocess.run([sys.executable, "-m", "gateway.seed_demo"], env=process_env, cwd=root, check=False)
    if seed.returncode != 0:
        print("make run: seeding the demo tenant failed", file=sys.stderr)
        return seed.returncode

    manager = Manager()
    for deployable in registry.deployables:
        reason = _runnable(deployable.command, root)
        if reason is not None:
            print(f"!!! make run: {deployable.name} NOT started: {reason}", file=sys.stderr, flush=True)
            continue
        # honcho runs each command through the shell, which expands ${GATEWAY_PORT} and friends.
        manager.add_process(deployable.name, deployable.command, env=process_env, cwd=str(root))
    print(f"Starting OmniStock at {base_url} ...", flush=True)
    threading.Thread(
        target=_announce_when_ready, args=(base_url, *sandboxes, marketplaces), daemon=True
    ).start()
    manager.loop()
    return manager.returncode or 0


if __name__ == "__main__":
    raise SystemExit(main())
