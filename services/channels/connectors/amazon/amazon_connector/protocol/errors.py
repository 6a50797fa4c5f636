"""The SP-API error envelope `{"errors":[{"code","message","details"}]}` (the models' ErrorList)
and the token-bad signal: 403 `Unauthorized` (or 401) on an expired or invalid access token
(CHANNELS.md 0.1 and 5.1)."""

from __future__ import annotations

from typing import Any

from omnistock_common.egress import safe_text

TOKEN_BAD_STATUSES = (401, 403)


def error_summary(body: Any, limit: int = 300) -> str:
    """ "code: message" of each error, cleaned and bounded (remote text, egress.safe_text)."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return ""
    parts = []
    for error in errors[:5]:
        if isinstance(error, dict):
            code, message = str(error.get("code") or ""), str(error.get("message") or "")
            parts.append(f"{code}: {message}" if code else message)
    return safe_text("; ".join(p for p in parts if p), limit)


def error_codes(body: Any) -> set[str]:
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return set()
    return {str(e.get("code")) for e in errors if isinstance(e, dict) and e.get("code")}


def is_token_rejected(status: int, body: Any) -> bool:
    """Whether refreshing the access token may fix this answer: 401, or 403 `Unauthorized`
    (which is also Amazon's answer for a missing role; one refresh tells them apart)."""
    if status == 401:
        return True
    return status == 403 and (not error_codes(body) or "Unauthorized" in error_codes(body))


def rate_limit_header(value: str | None) -> float | None:
    """`x-amzn-RateLimit-Limit`: the requests/second Amazon applied to this operation."""
    try:
        rate = float(value or "")
    except ValueError:
        return None
    return rate if rate > 0 else None
