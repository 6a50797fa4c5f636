"""Settings: working defaults, and every invalid value reported at once."""

from __future__ import annotations

import pytest

from gateway.config import DEV_JWT_SECRET, load_live_relay_settings, load_settings
from omnistock_common.config import ConfigError


def test_defaults_work_locally() -> None:
    settings = load_settings({})
    assert settings.port == 8080
    assert settings.database_url.startswith("sqlite:///") and settings.database_url.endswith("gateway.db")
    assert settings.uses_dev_jwt_secret and settings.jwt_secret == DEV_JWT_SECRET
    assert dict(settings.backends) == {
        "catalog": "127.0.0.1:50051",
        "inventory": "127.0.0.1:50052",
        "channels": "127.0.0.1:50055",
        "orders": "127.0.0.1:50053",
        "pricing": "127.0.0.1:50054",
    }
    assert settings.pricing_addr == "127.0.0.1:50054"
    assert settings.orders_addr == "127.0.0.1:50053" and settings.orders_timeout_seconds == 10.0
    assert settings.access_token_ttl_seconds == 900
    assert settings.refresh_token_ttl_seconds == 30 * 24 * 3600


def test_environment_overrides() -> None:
    settings = load_settings(
        {
            "GATEWAY_JWT_SECRET": "k" * 32,
            "GATEWAY_BACKENDS": "catalog",
            "CATALOG_ADDR": "catalog:6000",
            "GATEWAY_PORT": "9000",
            "LOGIN_FREE_FAILURES": "3",
            "REGISTER_MAX_PER_IP": "4",
            "GATEWAY_TOKEN_VERSION_CACHE_SECONDS": "2.5",
            "ORDERS_ADDR": "orders:7000",
            "GATEWAY_ORDERS_TIMEOUT_SECONDS": "20",
            "GATEWAY_ORDER_EXPORT_RATE_LIMIT": "2",
        }
    )
    assert not settings.uses_dev_jwt_secret
    assert dict(settings.backends) == {"catalog": "catalog:6000"}
    assert settings.catalog_addr == "catalog:6000"
    assert settings.port == 9000 and settings.login_free_failures == 3
    assert settings.register_max_per_ip == 4 and settings.token_version_cache_seconds == 2.5
    assert settings.orders_addr == "orders:7000" and settings.orders_timeout_seconds == 20.0
    assert settings.order_export_rate_limit == 2


def test_invalid_values_are_all_reported() -> None:
    with pytest.raises(ConfigError) as exc:
        load_settings(
            {
                "GATEWAY_JWT_SECRET": "too-short",
                "GATEWAY_BACKENDS": "catalog,warehouse",
                "GATEWAY_PORT": "http",
                "GATEWAY_DATABASE_URL": "mysql://x",
                "GATEWAY_TOKEN_VERSION_CACHE_SECONDS": "60",
            }
        )
    message = str(exc.value)
    for name in (
        "GATEWAY_JWT_SECRET",
        "warehouse",
        "GATEWAY_PORT",
        "GATEWAY_DATABASE_URL",
        "GATEWAY_TOKEN_VERSION_CACHE_SECONDS",
    ):
        assert name in message


def test_live_update_settings_have_defaults_and_bounds() -> None:
    defaults = load_settings({})
    assert (defaults.live_max_streams, defaults.live_max_seconds) == (4, 300.0)
    assert (defaults.live_heartbeat_seconds, defaults.live_ticket_seconds) == (15.0, 30)
    moved = load_settings({"GATEWAY_LIVE_MAX_STREAMS": "0", "GATEWAY_LIVE_TICKET_SECONDS": "10"})
    assert (moved.live_max_streams, moved.live_ticket_seconds) == (0, 10)
    with pytest.raises(ConfigError) as refused:
        load_settings({"GATEWAY_LIVE_MAX_SECONDS": "0", "GATEWAY_LIVE_TICKET_SECONDS": "3600"})
    assert "GATEWAY_LIVE_MAX_SECONDS" in str(refused.value) and "GATEWAY_LIVE_TICKET_SECONDS" in str(
        refused.value
    )


def test_the_live_relay_reads_only_its_redis_url() -> None:
    assert load_live_relay_settings({}).redis_url == "redis://127.0.0.1:6379/0"
    assert load_live_relay_settings({"REDIS_URL": "redis://:pw@cache:6379/3"}).redis_url.endswith("/3")
    with pytest.raises(ConfigError):
        load_live_relay_settings({"REDIS_URL": "http://cache"})
