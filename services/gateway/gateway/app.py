"""Flask application factory. Nothing is built at import time.

To add an area of the API, write `routes/<area>.py` exporting `api = ApiModule(...)` and append
that module's `api` to API_MODULES below; the OpenAPI document picks it up automatically.
"""

from __future__ import annotations

import logging
import re
import time

from flask import Flask, Response, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from gateway import web
from gateway.api import ApiModule, register_modules
from gateway.config import Settings, load_settings
from gateway.deps import Deps, build_deps
from gateway.errors import install_error_handlers
from gateway.routes import (
    analytics,
    auth,
    catalog,
    channels,
    docs,
    health,
    inventory,
    live,
    orders,
    pricing,
    users,
)
from omnistock_common.context import new_request_id
from omnistock_common.logging import escape_controls, request_id_var, tenant_id_var

# Every mounted area of the REST API. Keep it a plain list: one line per route module.
API_MODULES: list[ApiModule] = [
    health.api,
    docs.api,
    auth.api,
    users.api,
    catalog.api,
    inventory.api,
    channels.api,
    orders.api,
    pricing.api,
    analytics.api,
    live.api,
]

log = logging.getLogger("gateway.access")

# A client-supplied request id is echoed only if it is short and harmless in logs and headers.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,128}$")
# Access-log values come from the client: at most this many characters of a path are logged.
_MAX_LOGGED_PATH = 2048


def log_safe(text: str, limit: int = _MAX_LOGGED_PATH) -> str:
    """`text` as one harmless log field: control characters escaped the way every log line is
    (omnistock_common.logging.escape_controls: \\x0a, \\x1b...), and also the other invisible or
    reordering characters (bidi overrides, zero-width...: \\u202e), cut at `limit`.

    A path such as `/x%0A127.0.0.1 GET /admin 200` must not write a second, forged log line,
    nor colour a terminal or reorder text with bidi controls."""
    out = "".join(ch if ch.isprintable() else _escape_char(ch) for ch in escape_controls(text))
    return out if len(out) <= limit else out[:limit] + "...(truncated)"


def _escape_char(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 256 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def create_app(settings: Settings | None = None, *, deps: Deps | None = None) -> Flask:
    settings = settings if settings is not None else (deps.settings if deps is not None else load_settings())
    deps = deps if deps is not None else build_deps(settings)

    app = Flask("gateway")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["omnistock"] = deps
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies
        )

    register_modules(app, API_MODULES)
    # The dashboard at / (web/dist); not an API module, so not in the OpenAPI document.
    web.install(app, settings.web_dist_dir)
    install_error_handlers(app, deps.errors)

    @app.before_request
    def _request_id() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID.match(incoming) else new_request_id()
        g.started = time.perf_counter()
        request_id_var.set(g.request_id)
        tenant_id_var.set("")

    @app.after_request
    def _echo_request_id(response: Response) -> Response:
        response.headers["X-Request-ID"] = getattr(g, "request_id", "") or new_request_id()
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        claims = getattr(g, "claims", None)
        # The path without its query string (OAuth codes, states and HMACs live there), with
        # non-printable characters escaped (log_safe): a %0A in the URL cannot start a fake log line.
        log.info(
            "%s %s %s",
            log_safe(request.method, 32),
            log_safe(request.path),
            response.status_code,
            extra={
                "http_status": response.status_code,
                "ms": round((time.perf_counter() - getattr(g, "started", time.perf_counter())) * 1000, 2),
                "tenant": claims.tenant_id if claims else "",
                "user": claims.user_id if claims else "",
            },
        )
        return response

    return app
