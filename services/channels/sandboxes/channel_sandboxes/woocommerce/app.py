"""Flask app of the WooCommerce sandbox: the `wc/v3` REST API subset connectors use, plus control API.

Vendor-facing routes keep WooCommerce's paths, auth behaviour, error bodies (`{code, message,
data:{status}}`), paging headers and webhook headers; `/_sandbox/*` is ours and stable. The routes
live in one module per resource (system, products, variations, orders, webhooks, and the Shipment
Tracking extension's shipment_tracking) plus control.py;
the shared REST conventions in wp_rest.py; the instance in sandbox.py. `WooConfig` and `WooSandbox`
are re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask
from werkzeug.exceptions import NotFound

from channel_sandboxes.woocommerce.control import register_control_routes
from channel_sandboxes.woocommerce.orders import register_order_routes
from channel_sandboxes.woocommerce.products import register_product_routes
from channel_sandboxes.woocommerce.sandbox import API, USER_AGENT, WooConfig, WooSandbox
from channel_sandboxes.woocommerce.shipment_tracking import register_shipment_tracking_routes
from channel_sandboxes.woocommerce.system import register_system_routes
from channel_sandboxes.woocommerce.variations import register_variation_routes
from channel_sandboxes.woocommerce.webhooks import register_webhook_routes
from channel_sandboxes.woocommerce.wp_rest import WooError, register_rest_conventions

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["API", "USER_AGENT", "WooConfig", "WooError", "WooSandbox", "create_app"]


class SubfolderInstall:
    """A WordPress installed in a sub-folder answers under it (`/shop/wp-json/...`) and nowhere
    else; the sandbox's own `/_sandbox/*` control API stays at the root."""

    def __init__(self, app: WSGIApplication, prefix: str) -> None:
        self.app, self.prefix = app, prefix

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == self.prefix or path.startswith(self.prefix + "/"):
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + self.prefix
            environ["PATH_INFO"] = path[len(self.prefix) :]
        elif not path.startswith("/_sandbox/"):
            return NotFound()(environ, start_response)
        return self.app(environ, start_response)


def create_app(config: WooConfig | None = None) -> Flask:
    """Build a WooCommerce sandbox app; state lives in memory on `app.extensions["sandbox"]`."""
    sandbox = WooSandbox(config or WooConfig())
    app = Flask("channel_sandboxes.woocommerce")
    app.extensions["sandbox"] = sandbox
    if sandbox.home_path:
        app.wsgi_app = SubfolderInstall(app.wsgi_app, sandbox.home_path)  # type: ignore[method-assign]
    register_rest_conventions(app)
    register_system_routes(app, sandbox)
    register_product_routes(app, sandbox)
    register_variation_routes(app, sandbox)
    register_order_routes(app, sandbox)
    register_shipment_tracking_routes(app, sandbox)
    register_webhook_routes(app, sandbox)
    register_control_routes(app, sandbox)
    return app
