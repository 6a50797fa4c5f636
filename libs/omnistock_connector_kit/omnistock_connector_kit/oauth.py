"""OAuth 2.0 pieces every OAuth connector shares: the token grant, its answer, and turning it
into the contract's Credentials with absolute expiry times (CHANNELS.md 0.2).

The channel-specific parts (authorization URL, callback checks, token endpoint forms) stay in the
connector's protocol package; see shopify_connector.protocol.oauth.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock_connector_kit.connector_base import credentials_from_dict, expires_after

__all__ = ["TokenGrant", "credentials_from_grant", "is_invalid_grant", "parse_token_response"]


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    refresh_token: str
    expires_in: float | None
    refresh_token_expires_in: float | None
    scopes: tuple[str, ...]


def parse_token_response(body: Mapping[str, Any], *, scope_separator: str = " ") -> TokenGrant:
    """The token endpoint's JSON; raises ValueError when there is no access token.

    RFC 6749 5.1 separates scopes with spaces; some channels (Shopify) use commas.
    """
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise ValueError("the token response has no access_token")

    def seconds(name: str) -> float | None:
        value = body.get(name)
        try:
            return float(value) if value not in (None, "") else None
        except (TypeError, ValueError):
            return None

    scope = body.get("scope") or ""
    return TokenGrant(
        access_token=token,
        refresh_token=str(body.get("refresh_token") or ""),
        expires_in=seconds("expires_in"),
        refresh_token_expires_in=seconds("refresh_token_expires_in"),
        scopes=tuple(s.strip() for s in str(scope).split(scope_separator) if s.strip()),
    )


def is_invalid_grant(status: int, body: Any) -> bool:
    """The refresh token was refused for good (used, revoked, expired): re-authorize."""
    if status in (400, 401, 403) and isinstance(body, Mapping):
        error = str(body.get("error", "")).lower()
        description = str(body.get("error_description", "")).lower()
        return (
            error in ("invalid_grant", "invalid_request", "unauthorized_client") or "invalid" in description
        )
    return status in (401, 403)


def credentials_from_grant(grant: TokenGrant, previous: pb.Credentials | None = None) -> pb.Credentials:
    """Credentials from a token grant, with absolute expiry times. A refresh answer without a new
    refresh token keeps the previous one (and its expiry), as do its scopes when none are given."""
    secrets = {"access_token": grant.access_token}
    refresh_expires = expires_after(grant.refresh_token_expires_in)
    if grant.refresh_token:
        secrets["refresh_token"] = grant.refresh_token
    elif previous is not None and previous.secrets.get("refresh_token"):
        secrets["refresh_token"] = previous.secrets["refresh_token"]
        if previous.HasField("refresh_token_expires_at"):
            refresh_expires = previous.refresh_token_expires_at.ToDatetime(tzinfo=UTC)
    scopes = list(grant.scopes) or (list(previous.scopes) if previous is not None else [])
    return credentials_from_dict(
        {
            "secrets": secrets,
            "access_token_expires_at": expires_after(grant.expires_in),
            "refresh_token_expires_at": refresh_expires,
            "scopes": scopes,
        }
    )
