"""Settings of the WooCommerce connector."""

from __future__ import annotations

import pytest

from omnistock_common.config import ConfigError
from woocommerce_connector.config import load_settings


def test_defaults() -> None:
    settings = load_settings({})
    assert settings.service.grpc_port == 50062
    assert settings.bucket_capacity == 10 and settings.bucket_refill_per_second == 5.0
    assert settings.redis_url.startswith("redis://")


def test_overrides_and_invalid_values() -> None:
    settings = load_settings(
        {"WOOCOMMERCE_CONNECTOR_GRPC_PORT": "6000", "WOOCOMMERCE_CONNECTOR_BUCKET_REFILL_PER_SECOND": "2.5"}
    )
    assert settings.bind_address == "127.0.0.1:6000" and settings.bucket_refill_per_second == 2.5
    with pytest.raises(ConfigError, match="WOOCOMMERCE_CONNECTOR_BUCKET_CAPACITY"):
        load_settings({"WOOCOMMERCE_CONNECTOR_BUCKET_CAPACITY": "0"})
