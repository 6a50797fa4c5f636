"""Reading the Graph API error envelope and usage headers (pure).

Envelope: {"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}
(https://developers.facebook.com/docs/graph-api/guides/error-handling; CHANNELS.md 3.2).
Token errors are code 190 (OAuthException) with subcodes 458 app not installed, 460 password
changed, 463 expired, 467 invalid [M]. Rate limits (https://developers.facebook.com/docs/graph-api/overview/rate-limiting):
4 application, 17 user, 32 page, 613 custom, and the business-use-case codes 80000-80014
(80014 catalog batch [M]); `X-Business-Use-Case-Usage` reports per business
`estimated_time_to_regain_access` in minutes, `X-App-Usage` percentages only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

TOKEN_ERROR_CODE = 190
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, *range(80000, 80015)})
# Permission errors: 10 and 200-299 (the token lacks a permission; re-authorizing fixes it).
PERMISSION_CODES = frozenset({10, *range(200, 300)})
# Without a usage header, a throttled caller comes back after this long.
DEFAULT_RATE_LIMIT_WAIT_SECONDS = 60.0

_TOKEN_SUBCODES = {
    458: "the user removed the app",
    459: "the user's account is checkpointed",
    460: "the user changed their password (or Facebook reset it)",
    463: "the access token has expired",
    464: "the user is not confirmed",
    467: "the access token is invalid",
}


@dataclass(frozen=True)
class GraphError:
    message: str
    type: str
    code: int
    subcode: int
    fbtrace_id: str

    @property
    def is_token_error(self) -> bool:
        return self.code == TOKEN_ERROR_CODE or (self.type == "OAuthException" and self.code in (102, 2500))

    @property
    def is_rate_limit(self) -> bool:
        return self.code in RATE_LIMIT_CODES

    @property
    def is_permission_error(self) -> bool:
        return self.code in PERMISSION_CODES


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def graph_error(body: Any) -> GraphError | None:
    """The envelope's error, or None when the body carries none."""
    if not isinstance(body, Mapping) or not isinstance(body.get("error"), Mapping):
        return None
    error = body["error"]
    return GraphError(
        message=str(error.get("message") or ""),
        type=str(error.get("type") or ""),
        code=_int(error.get("code")),
        subcode=_int(error.get("error_subcode")),
        fbtrace_id=str(error.get("fbtrace_id") or ""),
    )


def token_problem(error: GraphError) -> str:
    """Why Meta refused the token, in words (the connection is then marked disconnected)."""
    reason = _TOKEN_SUBCODES.get(error.subcode, "Meta rejected the access token")
    return f"{reason} (Graph error {error.code}/{error.subcode}); reconnect the Meta account"


def regain_seconds(headers: Mapping[str, str]) -> float | None:
    """The longest `estimated_time_to_regain_access` (minutes) in X-Business-Use-Case-Usage, in
    seconds; None when the header is absent or unreadable."""
    raw = headers.get("x-business-use-case-usage") or headers.get("X-Business-Use-Case-Usage")
    if not raw:
        return None
    try:
        usage = json.loads(raw)
    except ValueError:
        return None
    minutes: list[float] = []
    if isinstance(usage, Mapping):
        for entries in usage.values():
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, Mapping):
                    try:
                        minutes.append(float(entry.get("estimated_time_to_regain_access") or 0))
                    except (TypeError, ValueError):
                        continue
    return max(minutes) * 60.0 if minutes else None


def rate_limit_wait(headers: Mapping[str, str]) -> float:
    """How long a throttled caller should stay away: the usage header's estimate, else a minute."""
    seconds = regain_seconds(headers)
    if seconds is None:
        return DEFAULT_RATE_LIMIT_WAIT_SECONDS
    return max(1.0, seconds)


# From this share of Meta's quota (percent) on, the local bucket is lowered to what is left.
HIGH_USAGE_PERCENT = 75.0


def usage_percent(headers: Mapping[str, str]) -> float | None:
    """The highest share of a quota Meta reports as used (call_count, total_time, total_cputime in
    X-App-Usage and every entry of X-Business-Use-Case-Usage), or None without usage headers."""
    found: list[float] = []
    for name in ("x-app-usage", "x-business-use-case-usage"):
        raw = headers.get(name) or headers.get(name.title())
        if not raw:
            continue
        try:
            usage = json.loads(raw)
        except ValueError:
            continue
        entries: list[Any] = (
            [usage]
            if name == "x-app-usage"
            else [
                e
                for group in (usage.values() if isinstance(usage, Mapping) else [])
                for e in (group if isinstance(group, list) else [])
            ]
        )
        for entry in entries:
            if not isinstance(entry, Mapping):
                continue
            for key in ("call_count", "total_time", "total_cputime"):
                try:
                    found.append(float(entry.get(key) or 0))
                except (TypeError, ValueError):
                    continue
    return max(found) if found else None
