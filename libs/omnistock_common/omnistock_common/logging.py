"""One JSON log format for every process, with the request id of the call being served.

Every record is sanitised on its way out (SanitizingFilter): secrets in URL query strings (OAuth
`code`, `hmac`, `state`, signatures, tokens...) are redacted, and control characters are escaped so
a `%0A` in a request path cannot forge a log line in the text format.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from datetime import UTC, datetime

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
tenant_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("tenant_id", default="")

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}

# Query parameters whose values are credentials or one-time secrets (OAuth code and state,
# Shopify's hmac/signature, WooCommerce's keys, tokens). Their values never reach a log line.
SENSITIVE_QUERY_PARAMS = frozenset(
    {
        "code",
        "hmac",
        "signature",
        "state",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "client_secret",
        "password",
        "oauth_token",
        "oauth_verifier",
        "consumer_key",
        "consumer_secret",
        "api_key",
        "key",
        "secret",
    }
)
REDACTED = "[REDACTED]"
_SENSITIVE_VALUE = re.compile(
    r"(?i)([?&;](?:" + "|".join(sorted(SENSITIVE_QUERY_PARAMS)) + r")=)[^&;\s\"'#]*"
)
_CONTROL = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")


def redact_query_secrets(text: str) -> str:
    """`...?code=abc&shop=x` -> `...?code=[REDACTED]&shop=x`, wherever a URL appears in `text`."""
    return _SENSITIVE_VALUE.sub(lambda m: m.group(1) + REDACTED, text)


def escape_controls(text: str) -> str:
    """CR, LF and other control characters as visible escapes: one record stays one line."""
    return _CONTROL.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 256 else f"\\u{code:04x}"


def sanitize(text: str) -> str:
    return escape_controls(redact_query_secrets(text))


class SanitizingFilter(logging.Filter):
    """Rewrites a record's message through sanitize() (see the module docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: let the handler report it as usual
            return True
        clean = sanitize(message)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


# Loggers with handlers of their own (not only the root's): HTTP servers' access logs.
_SERVER_LOGGERS = ("gunicorn.access", "gunicorn.error", "werkzeug")


def install_sanitizer(*loggers: logging.Logger | logging.Handler) -> None:
    """Add one SanitizingFilter to each logger/handler that does not have one yet."""
    for target in loggers:
        if not any(isinstance(f, SanitizingFilter) for f in target.filters):
            target.addFilter(SanitizingFilter())


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if request_id := request_id_var.get():
            payload["request_id"] = request_id
        if tenant_id := tenant_id_var.get():
            payload["tenant_id"] = tenant_id
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


# HTTP client libraries log every request's full URL at INFO (query strings included: WooCommerce
# query auth, OAuth codes). Our own channel client logs what matters, without secrets.
_QUIET_LOGGERS = ("httpx", "httpcore")


def quiet_http_client_loggers() -> None:
    """Keep the HTTP client libraries' request lines (full URLs) out of the log."""
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def setup_logging(service: str, level: str = "INFO", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(logging.Formatter(f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    install_sanitizer(handler, *(logging.getLogger(name) for name in _SERVER_LOGGERS))
    quiet_http_client_loggers()
