"""`make run`: every OmniStock process as a local process, stopped together on Ctrl-C.

Reads the Procfile at the repo root, checks that Redis and RabbitMQ answer, seeds the demo
tenant, starts everything under honcho (services, workers, both channel connectors and both
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

from honcho.environ import parse_procfile
from honcho.manager import Manager

from omnistock_common.config import (
    DEFAULT_GATEWAY_PORT,
    DEFAULT_GRPC_PORTS,
    DEFAULT_SANDBOX_PORTS,
    EnvReader,
    project_root,
)
from omnistock_devtools.demo import DEMO_EMAIL, DEMO_PASSWORD, DemoError, allow_sandboxes, ensure_demo

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


# gRPC servers `make run` starts (Procfile), by their settings prefix.
LOCAL_GRPC_SERVICES = ("catalog", "inventory", "channels", "shopify_connector", "woocommerce_connector")


def _busy_ports(ports: dict[str, int]) -> list[str]:
    """Ports some other process already listens on: honcho would start everything, see one
    process die on bind, and stop the rest; naming the port up front is kinder."""
    busy = []
    for name, port in ports.items():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
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


def _announce_when_ready(base_url: str, shopify_url: str, woo_url: str) -> None:
    """Wait for /readyz, connect the demo tenant to both sandboxes, then print the banner."""
    if not _wait_ready(base_url):
        print(
            f"!!! OmniStock did not become ready within {READY_TIMEOUT_SECONDS}s; see the logs above",
            flush=True,
        )
        return
    bar = "=" * 72
    try:
        demo_lines = ensure_demo(base_url, shopify_url, woo_url).lines(base_url)
    except DemoError as exc:
        demo_lines = [f" !!! the demo channels could not be set up: {exc}", " (OmniStock itself is running)"]
    print(
        f"\n{bar}\n OmniStock is ready: {base_url}\n"
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
    gateway_port = env.int("GATEWAY_PORT", DEFAULT_GATEWAY_PORT, minimum=1, maximum=65535)
    shopify_port = env.int("SHOPIFY_SANDBOX_PORT", DEFAULT_SANDBOX_PORTS["shopify"], minimum=1, maximum=65535)
    woo_port = env.int(
        "WOOCOMMERCE_SANDBOX_PORT", DEFAULT_SANDBOX_PORTS["woocommerce"], minimum=1, maximum=65535
    )
    grpc_ports = {
        name: env.int(f"{name.upper()}_GRPC_PORT", DEFAULT_GRPC_PORTS[name], minimum=1, maximum=65535)
        for name in LOCAL_GRPC_SERVICES
    }
    env.raise_if_invalid()
    problems = _check_infrastructure(env) + _busy_ports(
        {
            "gateway": gateway_port,
            "shopify-sandbox": shopify_port,
            "woocommerce-sandbox": woo_port,
            **grpc_ports,
        }
    )
    if problems:
        for problem in problems:
            print(f"make run: {problem}", file=sys.stderr)
        return 1

    venv_bin = Path(sys.executable).parent
    base_url = f"http://127.0.0.1:{gateway_port}"
    sandboxes = (f"http://127.0.0.1:{shopify_port}", f"http://127.0.0.1:{woo_port}")
    process_env = {
        **os.environ,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
        "GATEWAY_PORT": str(gateway_port),
        "SHOPIFY_SANDBOX_PORT": str(shopify_port),
        "WOOCOMMERCE_SANDBOX_PORT": str(woo_port),
        # OAuth redirect_uri = PUBLIC_BASE_URL + /api/v1/channels/oauth/callback: this gateway.
        "PUBLIC_BASE_URL": env.str("PUBLIC_BASE_URL", base_url),
        "SHOPIFY_CLIENT_ID": env.str("SHOPIFY_CLIENT_ID", SANDBOX_SHOPIFY_CLIENT_ID),
        "SHOPIFY_CLIENT_SECRET": env.str("SHOPIFY_CLIENT_SECRET", SANDBOX_SHOPIFY_CLIENT_SECRET),
        "LOG_FORMAT": os.environ.get("LOG_FORMAT", "text"),
        # channels.worker runs every entry point in eventlet's tpool (worker.yaml: >= max_workers + 4).
        "EVENTLET_THREADPOOL_SIZE": env.str("EVENTLET_THREADPOOL_SIZE", "16"),
        "CHANNEL_ALLOWED_HOSTS": allow_sandboxes(env.str("CHANNEL_ALLOWED_HOSTS", ""), *sandboxes),
    }
    seed = subprocess.run([sys.executable, "-m", "gateway.seed_demo"], env=process_env, cwd=root, check=False)
    if seed.returncode != 0:
        print("make run: seeding the demo tenant failed", file=sys.stderr)
        return seed.returncode

    procfile = parse_procfile((root / "Procfile").read_text())
    manager = Manager()
    for name, command in procfile.processes.items():
        reason = _runnable(command, root)
        if reason is not None:
            print(f"!!! make run: {name} NOT started: {reason}", file=sys.stderr, flush=True)
            continue
        # honcho runs each line through the shell, which expands ${GATEWAY_PORT} and friends.
        manager.add_process(name, command, env=process_env, cwd=str(root))
    print(f"Starting OmniStock at {base_url} ...", flush=True)
    threading.Thread(target=_announce_when_ready, args=(base_url, *sandboxes), daemon=True).start()
    manager.loop()
    return manager.returncode or 0


if __name__ == "__main__":
    raise SystemExit(main())
