"""`make run`: every OmniStock process as a local process, stopped together on Ctrl-C.

Reads the Procfile at the repo root, checks that Redis and RabbitMQ answer, seeds the demo
tenant, starts everything under honcho, and announces the URL once /readyz says ready.
"""

from __future__ import annotations

import os
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

from omnistock_common.config import DEFAULT_GATEWAY_PORT, EnvReader, project_root

DEMO_EMAIL = "demo@omnistock.local"
DEMO_PASSWORD = "omnistock-demo"
READY_TIMEOUT_SECONDS = 60


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


def _announce_when_ready(base_url: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base_url}/readyz", timeout=2) as response:
                if response.status == 200:
                    bar = "=" * 72
                    print(
                        f"\n{bar}\n OmniStock is ready: {base_url}\n"
                        f"   API docs:   {base_url}/api/v1/docs\n"
                        f"   Demo login: {DEMO_EMAIL} / {DEMO_PASSWORD}\n"
                        f" Press Ctrl-C to stop everything.\n{bar}\n",
                        flush=True,
                    )
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    print(
        f"!!! OmniStock did not become ready within {READY_TIMEOUT_SECONDS}s; see the logs above", flush=True
    )


def main() -> int:
    env = EnvReader()
    root = project_root()
    gateway_port = env.int("GATEWAY_PORT", DEFAULT_GATEWAY_PORT, minimum=1, maximum=65535)
    env.raise_if_invalid()
    problems = _check_infrastructure(env)
    if problems:
        for problem in problems:
            print(f"make run: {problem}", file=sys.stderr)
        return 1

    venv_bin = Path(sys.executable).parent
    process_env = {
        **os.environ,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
        "GATEWAY_PORT": str(gateway_port),
        "LOG_FORMAT": os.environ.get("LOG_FORMAT", "text"),
    }
    seed = subprocess.run([sys.executable, "-m", "gateway.seed_demo"], env=process_env, cwd=root, check=False)
    if seed.returncode != 0:
        print("make run: seeding the demo tenant failed", file=sys.stderr)
        return seed.returncode

    procfile = parse_procfile((root / "Procfile").read_text())
    manager = Manager()
    for name, command in procfile.processes.items():
        # honcho runs each line through the shell, which expands ${GATEWAY_PORT}.
        manager.add_process(name, command, env=process_env, cwd=str(root))
    base_url = f"http://127.0.0.1:{gateway_port}"
    print(f"Starting OmniStock at {base_url} ...", flush=True)
    threading.Thread(target=_announce_when_ready, args=(base_url,), daemon=True).start()
    manager.loop()
    return manager.returncode or 0


if __name__ == "__main__":
    raise SystemExit(main())
