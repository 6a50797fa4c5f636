"""The sync engine's hold and backoff settings (SYNC_MAX_INCREASE_HOLD_S and friends)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from channels.sync.settings import load_sync_settings
from omnistock_common.config import ConfigError


def test_the_hold_is_read_per_tenant_with_never_and_strict() -> None:
    settings = load_sync_settings(
        {"SYNC_MAX_INCREASE_HOLD_S": "45", "SYNC_MAX_INCREASE_HOLD_S_BY_TENANT": "a=0, b=strict,c=2.5"}
    )
    assert settings.max_hold_for("a") == 0 and settings.max_hold_for("b") is None
    assert settings.max_hold_for("c") == 2.5 and settings.max_hold_for("other") == 45


def test_defaults_hold_30_s_and_back_off_at_most_15_s() -> None:
    settings = load_sync_settings({})
    assert settings.max_hold_for("any") == 30.0
    assert settings.backoff_cap == timedelta(seconds=15) and settings.parallel_connections == 16
    assert load_sync_settings({"SYNC_MAX_INCREASE_HOLD_S": "STRICT"}).max_hold_for("x") is None


@pytest.mark.parametrize(
    "env",
    [
        {"SYNC_MAX_INCREASE_HOLD_S": "-1"},
        {"SYNC_MAX_INCREASE_HOLD_S": "soon"},
        {"SYNC_MAX_INCREASE_HOLD_S_BY_TENANT": "a"},
        {"SYNC_MAX_INCREASE_HOLD_S_BY_TENANT": "=5"},
        {"SYNC_BACKOFF_CAP_S": "60"},
        {"SYNC_PARALLEL_CONNECTIONS": "0"},
    ],
)
def test_bad_values_are_refused_by_name(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as error:
        load_sync_settings(env)
    assert next(iter(env)) in str(error.value)
