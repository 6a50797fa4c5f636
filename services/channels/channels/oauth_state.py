"""Signed OAuth states: what StartOAuth hands the channel's authorize URL and CompleteOAuth
checks (signature, expiry, the browser session that started the flow). Pure, like domain.py
(which re-exports these names); single use is enforced by the caller (Redis)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from omnistock_common.errors import FieldViolation, InvalidArgument, PermissionDenied

__all__ = [
    "InvalidState",
    "OAuthState",
    "check_session_binding",
    "sign_state",
    "validate_session_binding",
    "verify_state",
]


@dataclass(frozen=True)
class OAuthState:
    """What a signed state carries from StartOAuth to CompleteOAuth (nothing secret)."""

    tenant_id: str
    user_id: str
    channel_type: str
    name: str
    settings: Mapping[str, str]
    redirect_uri: str
    expires_at: datetime
    nonce: str
    # SHA-256 hex of the nonce kept by the initiating browser (see check_session_binding).
    binding: str = ""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _state_mac(secret: bytes, body: str) -> str:
    return _b64(hmac.new(secret, b"omnistock-oauth-state:" + body.encode(), hashlib.sha256).digest())


def sign_state(
    secret: bytes,
    *,
    tenant_id: str,
    user_id: str,
    channel_type: str,
    name: str,
    settings: Mapping[str, str],
    redirect_uri: str,
    now: datetime,
    ttl: timedelta,
    binding: str = "",
) -> tuple[str, OAuthState]:
    """A tamper-proof, expiring state binding the flow to its tenant, user, type, settings and the
    initiating browser session (`binding`)."""
    state = OAuthState(
        tenant_id=tenant_id,
        user_id=user_id,
        channel_type=channel_type,
        name=name,
        settings=dict(settings),
        redirect_uri=redirect_uri,
        expires_at=(now + ttl).replace(microsecond=0),
        nonce=secrets.token_urlsafe(16),
        binding=binding,
    )
    doc = {
        "v": 1,
        "t": state.tenant_id,
        "u": state.user_id,
        "ty": state.channel_type,
        "n": state.name,
        "s": dict(state.settings),
        "r": state.redirect_uri,
        "exp": int(state.expires_at.timestamp()),
        "no": state.nonce,
        "b": state.binding,
    }
    body = _b64(json.dumps(doc, separators=(",", ":"), sort_keys=True).encode())
    return f"{body}.{_state_mac(secret, body)}", state


class InvalidState(InvalidArgument):
    """The OAuth state is forged, malformed, expired or already used."""


def verify_state(secret: bytes, token: str, now: datetime) -> OAuthState:
    """Check signature (constant time) then expiry; single use is enforced by the caller (Redis)."""
    body, dot, mac = token.partition(".")
    if not dot or not body or not hmac.compare_digest(mac.encode(), _state_mac(secret, body).encode()):
        raise InvalidState(
            "the OAuth state is invalid: start the connection again", reason="OAUTH_STATE_INVALID"
        )
    try:
        doc = json.loads(_unb64(body))
        state = OAuthState(
            tenant_id=str(doc["t"]),
            user_id=str(doc.get("u", "")),
            channel_type=str(doc["ty"]),
            name=str(doc["n"]),
            settings={str(k): str(v) for k, v in dict(doc["s"]).items()},
            redirect_uri=str(doc["r"]),
            expires_at=datetime.fromtimestamp(int(doc["exp"]), UTC),
            nonce=str(doc["no"]),
            binding=str(doc.get("b", "")),
        )
    except (ValueError, KeyError, TypeError):
        raise InvalidState("the OAuth state is malformed", reason="OAUTH_STATE_INVALID") from None
    if now > state.expires_at:
        raise InvalidState(
            "the OAuth state has expired: start the connection again", reason="OAUTH_STATE_EXPIRED"
        )
    return state


_BINDING_HEX = frozenset("0123456789abcdef")


def validate_session_binding(binding: str) -> str:
    """A session binding is the SHA-256 hex digest of the browser's nonce (64 hex characters)."""
    if len(binding) != 64 or not set(binding) <= _BINDING_HEX:
        raise InvalidArgument(
            "invalid session binding",
            violations=[FieldViolation("session_binding", "the SHA-256 hex digest of the browser's nonce")],
        )
    return binding


def check_session_binding(state: OAuthState, presented: str) -> None:
    """The callback must arrive in the browser session that started the flow: a state minted by
    one user and completed by another (an authorize link sent to a merchant) is refused."""
    if not state.binding or not hmac.compare_digest(state.binding.encode(), presented.encode()):
        raise PermissionDenied(
            "this OAuth callback does not belong to the session that started it: start the "
            "connection again from OmniStock in this browser",
            reason="OAUTH_SESSION_MISMATCH",
        )
