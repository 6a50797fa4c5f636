"""Pure rules: channel type registry, settings, OAuth state signing/expiry, the status machine."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from channels.domain import (
    CHANNEL_TYPES,
    ERROR_THRESHOLD,
    AuthKind,
    ConnectionStatus,
    Health,
    InvalidState,
    after_failure,
    after_success,
    channel_type,
    disconnected,
    got_worse,
    needs_proactive_refresh,
    sign_state,
    validate_settings,
    verify_state,
)
from omnistock_common.errors import FailedPrecondition, InvalidArgument

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SECRET = b"s" * 40


def make_state(**overrides: object) -> str:
    values: dict[str, object] = {
        "tenant_id": "t1",
        "user_id": "u1",
        "channel_type": "shopify",
        "name": "Shop",
        "settings": {"shop_domain": "demo.myshopify.com"},
        "redirect_uri": "http://gw/api/v1/channels/oauth/callback",
        "now": NOW,
        "ttl": timedelta(minutes=10),
    }
    values.update(overrides)
    return sign_state(SECRET, **values)[0]  # type: ignore[arg-type]


def test_state_round_trips_and_binds_tenant_type_and_settings() -> None:
    state = verify_state(SECRET, make_state(), NOW + timedelta(minutes=9))
    assert (state.tenant_id, state.channel_type, dict(state.settings)) == (
        "t1",
        "shopify",
        {"shop_domain": "demo.myshopify.com"},
    )
    assert state.expires_at == NOW + timedelta(minutes=10)


def test_state_is_rejected_when_expired_forged_or_signed_with_another_secret() -> None:
    token = make_state()
    with pytest.raises(InvalidState) as expired:
        verify_state(SECRET, token, NOW + timedelta(minutes=10, seconds=1))
    assert expired.value.reason == "OAUTH_STATE_EXPIRED"
    body, mac = token.split(".")
    other = make_state(tenant_id="t2").split(".")[0]
    for forged in (f"{other}.{mac}", f"{body}.{mac[:-1]}x", body, ""):
        with pytest.raises(InvalidState):
            verify_state(SECRET, forged, NOW)
    with pytest.raises(InvalidState):
        verify_state(b"x" * 40, token, NOW)


def test_state_carries_the_session_binding_and_only_that_session_may_complete() -> None:
    from channels.domain import check_session_binding, validate_session_binding
    from omnistock_common.errors import PermissionDenied

    mine, theirs = "a" * 64, "f" * 64
    state = verify_state(SECRET, make_state(binding=mine), NOW)
    check_session_binding(state, mine)
    for other in (theirs, "", "a" * 63):
        with pytest.raises(PermissionDenied) as refused:
            check_session_binding(state, other)
        assert refused.value.reason == "OAUTH_SESSION_MISMATCH"
    with pytest.raises(PermissionDenied):  # a state minted without a binding binds nothing
        check_session_binding(verify_state(SECRET, make_state(), NOW), "")
    assert validate_session_binding(mine) == mine
    for bad in ("", "A" * 64, "g" * 64, "a" * 65):
        with pytest.raises(InvalidArgument):
            validate_session_binding(bad)


def test_two_states_for_the_same_flow_differ() -> None:
    assert make_state() != make_state()


def test_status_machine_degrades_errors_and_recovers() -> None:
    health = Health()
    statuses = []
    for attempt in range(ERROR_THRESHOLD):
        health = after_failure(health, NOW, f"boom {attempt}")
        statuses.append(health.status)
    assert statuses == [ConnectionStatus.DEGRADED] * (ERROR_THRESHOLD - 1) + [ConnectionStatus.ERROR]
    assert (health.error_count, health.last_error) == (ERROR_THRESHOLD, f"boom {ERROR_THRESHOLD - 1}")
    healed = after_success(health, NOW + timedelta(seconds=1))
    assert (healed.status, healed.error_count, healed.last_error) == (ConnectionStatus.CONNECTED, 0, "")
    assert healed.last_success_at == healed.last_sync_at == NOW + timedelta(seconds=1)


def test_disconnected_sticks_until_reauthorized() -> None:
    gone = disconnected(Health(), NOW, "refresh token revoked")
    assert gone.status is ConnectionStatus.DISCONNECTED and gone.status_reason == "refresh token revoked"
    assert after_success(gone, NOW).status is ConnectionStatus.DISCONNECTED
    still = after_failure(gone, NOW, "UNAVAILABLE")
    assert still.status is ConnectionStatus.DISCONNECTED and still.status_reason == "refresh token revoked"


def test_notifications_fire_on_the_way_down_only() -> None:
    assert got_worse(ConnectionStatus.CONNECTED, ConnectionStatus.DEGRADED)
    assert got_worse(ConnectionStatus.DEGRADED, ConnectionStatus.ERROR)
    assert not got_worse(ConnectionStatus.DEGRADED, ConnectionStatus.DEGRADED)
    assert not got_worse(ConnectionStatus.ERROR, ConnectionStatus.CONNECTED)


def test_proactive_refresh_window() -> None:
    skew = timedelta(minutes=5)
    assert needs_proactive_refresh(NOW + timedelta(minutes=4), NOW, skew)
    assert not needs_proactive_refresh(NOW + timedelta(minutes=6), NOW, skew)
    assert not needs_proactive_refresh(None, NOW, skew)  # non-expiring tokens (Woo keys)
    # Meta's token cannot be brought back once dead: renewed a week ahead, not minutes.
    assert needs_proactive_refresh(NOW + timedelta(days=6), NOW, skew, has_refresh_token=False)
    assert not needs_proactive_refresh(NOW + timedelta(days=8), NOW, skew, has_refresh_token=False)
    assert not needs_proactive_refresh(NOW + timedelta(days=6), NOW, skew, has_refresh_token=True)


def test_type_registry_lists_everything_but_only_builds_what_exists(monkeypatch: pytest.MonkeyPatch) -> None:
    assert set(CHANNEL_TYPES) == {
        "shopify",
        "woocommerce",
        "facebook",
        "instagram",
        "tiktok",
        "amazon",
        "ebay",
    }
    assert channel_type("shopify", auth=AuthKind.OAUTH).type == "shopify"
    # A type listed without a connector in this release (every type has one now: play one).
    monkeypatch.setitem(CHANNEL_TYPES, "amazon", replace(CHANNEL_TYPES["amazon"], available=False))
    with pytest.raises(FailedPrecondition, match="not available yet"):
        channel_type("amazon")
    with pytest.raises(FailedPrecondition, match="OAuth"):
        channel_type("shopify", auth=AuthKind.API_KEY)
    with pytest.raises(InvalidArgument):
        channel_type("myspace")


def test_settings_validation() -> None:
    assert validate_settings({"api_base_url": "https://sandbox.test/", "store_url": " x "}) == {
        "api_base_url": "https://sandbox.test/",
        "store_url": "x",
    }
    for bad in (
        {"api_base_url": "sandbox.test"},
        {"api_base_url": "javascript:alert(1)"},
        {"access_token": "x"},
    ):
        with pytest.raises(InvalidArgument):
            validate_settings(bad)
