"""Issue 12 acceptance: schemathesis over the whole OpenAPI document of the running gateway.

The stack is what a developer runs (omnistock_devtools.fullstack: the Procfile's gateway under
gunicorn, catalog, inventory, channels and both connectors) on fresh PostgreSQL databases. An
authenticated tenant owner's token is sent with every request; schemathesis generates valid and
invalid requests for every operation and checks two things: no 5xx (`not_a_server_error`) and
every response matches the document (`response_schema_conformance`).

`make test` runs a bounded, reproducible pass (fixed seed, few examples per operation, about a
minute). `make fuzz` runs the same test with more examples and the stateful phase; tune it with
FUZZ_MAX_EXAMPLES, FUZZ_SEED, FUZZ_PHASES and FUZZ_TIMEOUT_SECONDS.

POST /auth/logout is left out: it revokes the very token the run authenticates with, after which
every other operation only sees 401s (tests/security/test_input_gateway.py and the gateway's API
tests cover logout).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from omnistock_common.db import normalize_url
from omnistock_devtools.fullstack import MIGRATED_SERVICES, FullStack
from omnistock_devtools.registry import Registry
from omnistock_devtools.testing import TEST_AMQP_URL, TEST_REDIS_URL

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.rabbitmq, pytest.mark.slow]

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "8"))
SEED = int(os.environ.get("FUZZ_SEED", "20261206"))
PHASES = os.environ.get("FUZZ_PHASES", "examples,coverage,fuzzing")
TIMEOUT_SECONDS = float(os.environ.get("FUZZ_TIMEOUT_SECONDS", "240"))
# The orders routes call the orders deployable; until the registry has it (issue 13 lands in
# parts), they are left out of the run instead of answering 503 to every request.
ORDERS_DEPLOYED = "orders" in {d.name for d in Registry.load().deployables}
# The processes the REST API needs (the nameko workers and channel sandboxes are not called).
PROCESSES = (
    "catalog",
    "inventory",
    "channels",
    "shopify-connector",
    "woocommerce-connector",
    *(("orders",) if ORDERS_DEPLOYED else ()),
    "pricing",
    "gateway",
)
# schemathesis' "Selected: <run>/<in the document>": all but POST /auth/logout (and, while the
# orders deployable is missing, the 8 orders operations and the 6 analytics ones it answers; the
# inventory turnover and the inventory report are read from inventory and catalog, so they run).
# The live-updates ticket and stream run too: a generated ticket is never a valid one (401).
EXPECTED_SELECTED = "Selected: 93/94" if ORDERS_DEPLOYED else "Selected: 80/94"
ORDERS_PATHS = "^/api/v1/(orders|analytics/(revenue-by-channel|best-sellers|conversion-by-channel|sales-over-time|sessions))"
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def stack(postgres_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FullStack]:
    """One stack for the module, on fresh PostgreSQL databases dropped at the end."""
    admin = create_engine(normalize_url(postgres_admin_url), isolation_level="AUTOCOMMIT")
    names = [f"omnistock_fuzz_{uuid.uuid4().hex[:12]}" for _ in MIGRATED_SERVICES]
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = make_url(normalize_url(postgres_admin_url))
    databases = {
        service: base.set(database=name).render_as_string(hide_password=False)
        for service, name in zip(MIGRATED_SERVICES, names, strict=True)
    }
    env = {
        # Connections the fuzzer creates may point at loopback; nothing listens there for them.
        "CHANNEL_ALLOWED_HOSTS": "127.0.0.1:*",
        # Every generated login would otherwise hit the per-IP limit within the first second.
        "LOGIN_MAX_ATTEMPTS_PER_IP": "100000",
    }
    try:
        with FullStack(
            tmp_path_factory.mktemp("fuzz-stack"),
            databases,
            TEST_REDIS_URL,
            TEST_AMQP_URL,
            env=env,
            only=PROCESSES,
        ) as running:
            yield running
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _register(base_url: str) -> str:
    body = {
        "tenant_name": "Fuzz Tenant",
        "email": f"fuzz-{uuid.uuid4().hex[:10]}@fuzz.test",
        "password": "correct-horse-battery",
    }
    request = urllib.request.Request(
        f"{base_url}/api/v1/auth/register",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.load(response)["access_token"])


@pytest.mark.timeout(TIMEOUT_SECONDS + 180)
def test_schemathesis_finds_no_server_error_and_no_schema_violation(stack: FullStack, tmp_path: Path) -> None:
    token = _register(stack.gateway_url)
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{stack.gateway_url}/api/v1/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "not_a_server_error,response_schema_conformance",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--phases",
        PHASES,
        # One worker: schemathesis' workers are threads, and CPython 3.11 can fail concurrent
        # ast.parse calls (Hypothesis scans loaded modules for constants) with "SystemError: AST
        # constructor recursion depth mismatch" (python/cpython#106905); CI hit it once.
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--exclude-path",
        "/api/v1/auth/logout",
        *([] if ORDERS_DEPLOYED else ["--exclude-path-regex", ORDERS_PATHS]),
        "--no-color",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path / "schemathesis-report"),
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, cwd=tmp_path, check=False
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"schemathesis did not finish within {TIMEOUT_SECONDS}s:\n{exc.stdout or ''}")
    output = done.stdout + done.stderr
    tail = "\n".join(output.splitlines()[-150:])
    gateway = stack.processes["gateway"].tail(60)
    assert done.returncode == 0, f"schemathesis found failures:\n{tail}\n--- gateway log:\n{gateway}"
    assert "passed" in output and EXPECTED_SELECTED in output, tail
    # `make fuzz` runs with -s: show what was covered (test cases, phases, warnings).
    print("\n".join(line for line in output.splitlines()[-40:] if line.strip()))


def _raw_request(url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes (a request http.client would refuse to build) and read the reply."""
    parsed = urlparse(url)
    with socket.create_connection((parsed.hostname, parsed.port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /api/v1/" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 10_000 + b"\r\n\r\n", 431),
        (
            b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
            + b"".join(b"X-%d: y\r\n" % i for i in range(200))
            + b"\r\n",
            431,
        ),
        (b"BROKEN\r\n\r\n", 400),
    ],
    ids=["long-url", "long-header", "many-headers", "malformed"],
)
def test_errors_of_the_wsgi_server_itself_are_problem_json(
    stack: FullStack, request_bytes: bytes, status: int
) -> None:
    got, headers, body = _raw_request(stack.gateway_url, request_bytes)
    assert got == status, body[:300]
    assert headers["content-type"] == PROBLEM
    assert json.loads(body)["status"] == status
