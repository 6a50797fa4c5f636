"""Internal tokens and signed events (omnistock_common.service_auth), config, and the interceptor's
role policy: pure computation with injected clocks, no server."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest

from omnistock_common import service_auth
from omnistock_common.config import (
    DEV_INTERNAL_TOKEN_SECRET,
    ConfigError,
    load_internal_auth_settings,
)
from omnistock_common.context import CallContext, verified_call_context
from omnistock_common.errors import Unauthenticated
from omnistock_common.interceptors import AccessPolicy
from omnistock_common.service_auth import (
    AUDIENCE,
    MAX_TTL_SECONDS,
    TOKEN_KEY,
    TokenSigner,
    TokenVerifier,
    event_signature_valid,
    sign_event,
)

SECRET = "unit-test-internal-secret-0123456789abcdef"
OTHER = "another-internal-secret-0123456789abcdefgh"


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_signed_token_verifies_to_its_identity() -> None:
    token = TokenSigner(SECRET, "gateway").token("t1", "u1", "viewer")
    identity = TokenVerifier(SECRET).verify(token)
    assert (identity.tenant_id, identity.user_id, identity.role, identity.issuer) == (
        "t1",
        "u1",
        "viewer",
        "gateway",
    )


def test_claims_are_short_lived_and_carry_the_audience() -> None:
    clock = Clock()
    token = TokenSigner(SECRET, "channels", clock=clock).token("t1")
    claims = jwt.decode(
        token,
        SECRET,
        algorithms=["HS256"],
        audience=AUDIENCE,
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims["exp"] - claims["iat"] <= MAX_TTL_SECONDS
    assert claims["iat"] == int(clock.now)
    # An empty role is the process acting for itself.
    assert (claims["tenant"], claims["user"], claims["role"], claims["iss"]) == (
        "t1",
        "",
        "system",
        "channels",
    )


def test_the_signer_reuses_a_token_for_a_few_seconds_then_signs_a_new_one() -> None:
    clock = Clock()
    signer = TokenSigner(SECRET, "gateway", clock=clock)
    first = signer.token("t1", "u1", "owner")
    assert signer.token("t1", "u1", "owner") is first
    assert signer.token("t2", "u1", "owner") != first
    clock.now += service_auth.REUSE_SECONDS + 1
    assert signer.token("t1", "u1", "owner") != first


def test_the_verifier_decodes_a_token_once(monkeypatch: pytest.MonkeyPatch) -> None:
    verifier = TokenVerifier(SECRET)
    token = TokenSigner(SECRET, "gateway").token("t1", "u1", "owner")
    calls = []
    real = jwt.decode

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(service_auth.jwt, "decode", counting)
    for _ in range(100):
        verifier.verify(token)
    assert len(calls) == 1


def test_a_token_signed_with_another_secret_is_refused() -> None:
    forged = TokenSigner(OTHER, "attacker").token("victim", "u", "owner")
    with pytest.raises(Unauthenticated, match="invalid"):
        TokenVerifier(SECRET).verify(forged)


@pytest.mark.parametrize("token", [None, "", "not-a-jwt", "a.b.c"])
def test_a_missing_or_malformed_token_is_refused(token: str | None) -> None:
    with pytest.raises(Unauthenticated):
        TokenVerifier(SECRET).verify(token)


def test_an_expired_token_is_refused_even_after_it_was_cached() -> None:
    clock = Clock()
    token = TokenSigner(SECRET, "gateway", clock=clock, ttl_seconds=60).token("t1")
    verifier = TokenVerifier(SECRET, clock=clock)
    verifier.verify(token)
    clock.now += 60 + service_auth.LEEWAY_SECONDS + 1
    with pytest.raises(Unauthenticated, match="expired"):
        verifier.verify(token)
    with pytest.raises(Unauthenticated, match="expired"):
        TokenVerifier(SECRET, clock=clock).verify(token)


def _raw(claims: dict[str, Any], secret: str = SECRET, algorithm: str = "HS256") -> str:
    base = {
        "tenant": "t1",
        "user": "u1",
        "role": "owner",
        "iss": "x",
        "aud": AUDIENCE,
        "iat": int(time.time()),
        "exp": int(time.time()) + 60,
    }
    return jwt.encode({**base, **claims}, secret, algorithm=algorithm)


# Times are taken when the test runs, not when it is collected: a long suite runs this minutes
# after collection, and "600 s in the future" must still be in the future then.
@pytest.mark.parametrize(
    "claims",
    [
        lambda now: {"exp": now + 3600},  # longer than MAX_TTL_SECONDS
        lambda now: {"iat": now + 600, "exp": now + 700},  # issued in the future
        lambda now: {"role": "superuser"},
        lambda now: {"role": 1},
        lambda now: {"aud": "omnistock-api"},  # a user access token's audience
        lambda now: {"tenant": None},
    ],
)
def test_tokens_outside_the_contract_are_refused(claims: Callable[[int], dict[str, Any]]) -> None:
    with pytest.raises(Unauthenticated):
        TokenVerifier(SECRET).verify(_raw(claims(int(time.time()))))


def test_an_unsigned_token_is_refused() -> None:
    with pytest.raises(Unauthenticated):
        TokenVerifier(SECRET).verify(_raw({}, secret="", algorithm="none"))


def test_a_token_missing_a_claim_is_refused() -> None:
    token = jwt.encode(
        {"tenant": "t1", "aud": AUDIENCE, "exp": int(time.time()) + 60}, SECRET, algorithm="HS256"
    )
    with pytest.raises(Unauthenticated):
        TokenVerifier(SECRET).verify(token)


def test_the_signer_refuses_unknown_roles_and_long_lifetimes() -> None:
    with pytest.raises(ValueError):
        TokenSigner(SECRET, "x").token("t1", "u1", "root")
    with pytest.raises(ValueError):
        TokenSigner(SECRET, "x", ttl_seconds=MAX_TTL_SECONDS + 1)


def test_call_context_metadata_carries_a_token_and_no_plain_identity() -> None:
    signer = TokenSigner(SECRET, "gateway")
    md = dict(CallContext("t1", "u1", "staff", "req-1").metadata(signer))
    assert set(md) == {TOKEN_KEY, "x-request-id"}
    assert md["x-request-id"] == "req-1"
    assert TokenVerifier(SECRET).verify(md[TOKEN_KEY]).role == "staff"


def test_verified_call_context_uses_the_token_not_plain_metadata() -> None:
    md = dict(service_auth.internal_metadata("t1", "u1", "viewer", request_id="r"))
    md["x-tenant-id"] = "someone-else"
    md["x-user-role"] = "owner"
    assert verified_call_context(md) == CallContext("t1", "u1", "viewer", "r")
    with pytest.raises(Unauthenticated):
        verified_call_context({"x-tenant-id": "t1", "x-user-role": "owner"})


def test_hot_path_cost_per_call_is_small() -> None:
    """Signing (cached) + verifying (cached) one call: measured ~1-2 us here; bounded loosely."""
    signer, verifier = TokenSigner(SECRET, "bench"), TokenVerifier(SECRET)
    verifier.verify(signer.token("t1", "bench", "staff"))
    rounds = 20_000
    started = time.perf_counter()
    for _ in range(rounds):
        verifier.verify(signer.token("t1", "bench", "staff"))
    per_call = (time.perf_counter() - started) / rounds
    assert per_call < 50e-6, f"{per_call * 1e6:.1f} us per call"


# ---------------------------------------------------------------------------- events
def test_a_signed_event_verifies_and_any_change_breaks_it() -> None:
    payload = {"tenant_id": "t1", "skus": [{"sku": "A", "available": 3, "version": 7}]}
    signed = sign_event(SECRET, "inventory.stock_changed", payload)
    assert event_signature_valid(SECRET, "inventory.stock_changed", signed)
    assert "_signature" not in payload  # the caller's dict is not modified
    assert not event_signature_valid(OTHER, "inventory.stock_changed", signed)
    assert not event_signature_valid(SECRET, "inventory.other", signed)
    assert not event_signature_valid(SECRET, "inventory.stock_changed", {**signed, "tenant_id": "t2"})
    tampered = {**signed, "skus": [{"sku": "A", "available": 999, "version": 7}]}
    assert not event_signature_valid(SECRET, "inventory.stock_changed", tampered)
    assert not event_signature_valid(SECRET, "inventory.stock_changed", payload)


# ---------------------------------------------------------------------------- config
def test_the_development_secret_is_the_default_and_named() -> None:
    settings = load_internal_auth_settings({})
    assert settings.token_secret == DEV_INTERNAL_TOKEN_SECRET and settings.uses_dev_secret
    assert settings.reflection is True
    own = load_internal_auth_settings({"INTERNAL_TOKEN_SECRET": SECRET, "GRPC_REFLECTION": "false"})
    assert own.token_secret == SECRET and not own.uses_dev_secret and own.reflection is False


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"INTERNAL_TOKEN_SECRET": "short"}, "INTERNAL_TOKEN_SECRET"),
        ({"GRPC_REFLECTION": "maybe"}, "GRPC_REFLECTION"),
    ],
)
def test_invalid_values_stop_start_up_naming_the_variable(environ: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_internal_auth_settings(environ)


# ---------------------------------------------------------------------------- role policy
def test_access_policy_read_only_roles_and_default_writers() -> None:
    policy = AccessPolicy.of(
        read_only=["/s.S/Get"], roles={"/s.S/Delete": {"owner", "admin"}}, tenantless=["/s.S/Hook"]
    )
    assert policy.allowed_roles("/s.S/Get") is None
    assert policy.allowed_roles("/s.S/Delete") == {"owner", "admin"}
    assert policy.allowed_roles("/s.S/Put") == service_auth.WRITE_ROLES
    assert "viewer" not in service_auth.WRITE_ROLES and "system" in service_auth.WRITE_ROLES
    assert policy.tenantless == {"/s.S/Hook"}


def test_configure_names_the_issuer_and_refuses_a_short_secret(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("_default_signer", "_default_verifier", "_issuer"):
        monkeypatch.setattr(service_auth, name, getattr(service_auth, name))
    monkeypatch.delenv("INTERNAL_TOKEN_SECRET", raising=False)
    service_auth.configure("inventory")
    assert "DEVELOPMENT secret" in caplog.text
    token = service_auth.default_signer().token("t1")
    assert service_auth.default_verifier().verify(token).issuer == "inventory"
    monkeypatch.setenv("INTERNAL_TOKEN_SECRET", "too-short")
    with pytest.raises(ConfigError, match="INTERNAL_TOKEN_SECRET"):
        service_auth.configure("inventory")
