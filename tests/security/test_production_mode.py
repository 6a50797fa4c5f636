"""OMNISTOCK_ENV=production refuses every development secret or default credential (issue 12.6).

Each process is started for real with one variable left at its development value and every other
one set properly: it must exit 2 at once with one line naming that variable. Proper values get
past the check (checked in-process: past the check a server would start serving).
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from omnistock_common.config import ConfigError

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

# Proper production values. Nothing listens on 127.0.0.1:9 and nothing is contacted: every
# process checks its configuration before it connects anywhere.
PROPER: dict[str, str] = {
    "OMNISTOCK_ENV": "production",
    "GATEWAY_JWT_SECRET": "prod-jwt-" + "k3" * 20,
    "CREDENTIALS_KEYS": "prod1:" + base64.b64encode(bytes(range(32))).decode(),
    "OAUTH_STATE_SECRET": "prod-state-" + "q7" * 20,
    "INTERNAL_TOKEN_SECRET": "prod-internal-" + "t5" * 20,
    "SHOPIFY_CLIENT_ID": "5f1e0c0ffee5f1e0c0ffee",
    "SHOPIFY_CLIENT_SECRET": "shpss_" + "ab12" * 8,
    "AMQP_URL": "amqp://omnistock:Rabbit-Pw-91@127.0.0.1:9/omnistock",
    "REDIS_URL": "redis://:Redis-Pw-91@127.0.0.1:9/0",
    "GATEWAY_DATABASE_URL": "postgresql://gateway:Gw-Pw-91@127.0.0.1:9/gateway",
    "CHANNELS_DATABASE_URL": "postgresql://channels:Ch-Pw-91@127.0.0.1:9/channels",
    "CATALOG_DATABASE_URL": "postgresql://catalog:Ca-Pw-91@127.0.0.1:9/catalog",
    "INVENTORY_DATABASE_URL": "postgresql://inventory:In-Pw-91@127.0.0.1:9/inventory",
    "LOG_LEVEL": "WARNING",
}

GATEWAY = [str(BIN / "python"), "-m", "gateway.wsgi"]
GUNICORN = [
    str(BIN / "gunicorn"),
    "--config",
    "python:gateway.gunicorn_conf",
    "--bind",
    "127.0.0.1:0",
    "gateway.wsgi:app",
]
CHANNELS = [str(BIN / "python"), "-m", "channels.server"]
SHOPIFY = [str(BIN / "python"), "-m", "shopify_connector.server"]
WOO = [str(BIN / "python"), "-m", "woocommerce_connector.server"]
CATALOG = [str(BIN / "python"), "-m", "catalog.server"]
INVENTORY = [str(BIN / "python"), "-m", "inventory.server"]
CHANNELS_WORKER = [str(BIN / "nameko"), "run", "--config", "services/channels/worker.yaml", "channels.worker"]
INVENTORY_WORKER = [
    str(BIN / "nameko"),
    "run",
    "--config",
    "services/inventory/worker.yaml",
    "inventory.worker",
]
CATALOG_WORKER = [str(BIN / "nameko"), "run", "--config", "services/catalog/worker.yaml", "catalog.worker"]

# (process, variable, development value; None = unset, i.e. the built-in default)
CASES: list[tuple[str, list[str], str, str | None]] = [
    ("gateway", GATEWAY, "GATEWAY_JWT_SECRET", None),
    ("gunicorn", GUNICORN, "GATEWAY_JWT_SECRET", "compose-dev-only-jwt-secret-change-me-0123456789"),
    ("gateway", GATEWAY, "GATEWAY_DATABASE_URL", None),
    ("gateway", GATEWAY, "REDIS_URL", "redis://127.0.0.1:6379/0"),
    ("channels", CHANNELS, "CREDENTIALS_KEYS", None),
    ("channels", CHANNELS, "CREDENTIALS_KEYS", "compose-dev:Y29tcG9zZS1kZXYtb25seS1jcmVkZW50aWFscy1rZXk="),
    ("channels", CHANNELS, "OAUTH_STATE_SECRET", None),
    ("channels", CHANNELS, "CHANNELS_DATABASE_URL", "postgresql://channels:channels-dev-only@pg/channels"),
    ("shopify", SHOPIFY, "SHOPIFY_CLIENT_ID", None),
    ("shopify", SHOPIFY, "SHOPIFY_CLIENT_SECRET", None),
    ("shopify", SHOPIFY, "SHOPIFY_CLIENT_SECRET", "sandbox-shopify-client-secret"),
    ("woocommerce", WOO, "REDIS_URL", None),
    ("catalog", CATALOG, "CATALOG_DATABASE_URL", None),
    ("inventory", INVENTORY, "INVENTORY_DATABASE_URL", None),
    ("inventory-worker", INVENTORY_WORKER, "AMQP_URL", None),
    ("catalog-worker", CATALOG_WORKER, "AMQP_URL", None),
    ("catalog-worker", CATALOG_WORKER, "CATALOG_DATABASE_URL", None),
    ("channels-worker", CHANNELS_WORKER, "AMQP_URL", "amqp://guest:guest@127.0.0.1:9/"),
    ("gateway", GATEWAY, "INTERNAL_TOKEN_SECRET", None),
    ("catalog", CATALOG, "INTERNAL_TOKEN_SECRET", None),
    (
        "inventory-worker",
        INVENTORY_WORKER,
        "INTERNAL_TOKEN_SECRET",
        "dev-only-internal-token-secret-not-for-production-01",
    ),
]


def _env(overrides: Mapping[str, str | None]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in PROPER and not k.startswith("OMNISTOCK")}
    env.update(PROPER)
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


@pytest.mark.slow
@pytest.mark.parametrize(
    ("process", "command", "variable", "value"), CASES, ids=lambda v: v if isinstance(v, str) else None
)
def test_a_development_value_stops_the_process_with_exit_2(
    process: str, command: list[str], variable: str, value: str | None
) -> None:
    done = subprocess.run(
        command, env=_env({variable: value}), cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, (process, done.returncode, done.stderr[-2000:])
    refusals = [line for line in done.stderr.splitlines() if "OMNISTOCK_ENV=production" in line]
    assert len(refusals) == 1, done.stderr[-2000:]
    assert variable in refusals[0]
    # Only the development value is named: every other variable was accepted.
    named = set(re.findall(r"\b([A-Z][A-Z0-9_]+) (?:is|has|uses) ", refusals[0]))
    assert named == {variable}, refusals[0]


def _loaders() -> dict[str, Callable[[Mapping[str, str]], Any]]:
    from catalog.config import load_settings as catalog
    from channels.config import load_settings as channels
    from gateway.config import load_settings as gateway
    from inventory.config import load_settings as inventory
    from omnistock_common.config import check_amqp_url, load_internal_auth_settings
    from shopify_connector.config import load_settings as shopify
    from woocommerce_connector.config import load_settings as woocommerce

    return {
        "gateway": gateway,
        "channels": channels,
        "shopify": shopify,
        "woocommerce": woocommerce,
        "catalog": catalog,
        "inventory": inventory,
        "amqp": check_amqp_url,
        "internal": load_internal_auth_settings,
    }


def test_proper_values_get_past_the_check() -> None:
    for name, load in _loaders().items():
        load(PROPER)  # raises ConfigError on any refusal
        assert name


def test_development_values_are_only_refused_in_production() -> None:
    development = {k: v for k, v in PROPER.items() if k != "OMNISTOCK_ENV"}
    for load in _loaders().values():
        load({})  # a fresh clone's defaults start as before
        load({**development, "GATEWAY_JWT_SECRET": "compose-dev-only-jwt-secret-change-me-0123456789"})


def _compose_env(service: str) -> dict[str, str]:
    """A docker-compose service's environment with ${X:-default} resolved to the default."""
    doc = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    env = doc["services"][service]["environment"]
    # yaml.safe_load has already merged the `<<: *anchor` blocks into the mapping.
    return {key: re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", str(value)) for key, value in env.items()}


@pytest.mark.parametrize(
    ("service", "loader", "expected"),
    [
        ("gateway", "gateway", {"GATEWAY_JWT_SECRET", "GATEWAY_DATABASE_URL", "REDIS_URL"}),
        (
            "channels",
            "channels",
            {"CREDENTIALS_KEYS", "OAUTH_STATE_SECRET", "CHANNELS_DATABASE_URL", "REDIS_URL"},
        ),
        ("shopify-connector", "shopify", {"SHOPIFY_CLIENT_ID", "SHOPIFY_CLIENT_SECRET", "REDIS_URL"}),
        ("inventory-worker", "amqp", {"AMQP_URL"}),
        ("catalog", "catalog", {"CATALOG_DATABASE_URL"}),
        ("inventory", "internal", {"INTERNAL_TOKEN_SECRET"}),
    ],
)
def test_compose_defaults_are_recognised_as_development_values(
    service: str, loader: str, expected: set[str]
) -> None:
    env = {**_compose_env(service), "OMNISTOCK_ENV": "production"}
    with pytest.raises(ConfigError) as refused:
        _loaders()[loader](env)
    for variable in expected:
        assert f"{variable} " in str(refused.value), (variable, str(refused.value))
