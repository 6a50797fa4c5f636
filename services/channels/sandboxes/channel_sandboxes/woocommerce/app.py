"""Flask app of the WooCommerce sandbox: the `wc/v3` REST API subset connectors use, plus control API.

Vendor-facing routes keep WooCommerce's paths, auth behaviour, error bodies (`{code, message,
data:{status}}`), paging headers and webhook headers; `/_sandbox/*` is ours and stable. The routes
live in one module per resource (system, products, variations, orders, webhooks, and the Shipment
Tracking extension's shipment_tracking) plus control.py;
the shared REST conventions in wp_rest.py; the instance in sandbox.py. `WooConfig` and `WooSandbox`
are re-exported here.
"""

from __future__ import annotations

from flask import Flask

from channel_sandboxes.woocommerce.control import register_control_routes
from channel_sandboxes.woocommerce.orders import register_order_routes
from channel_sandboxes.woocommerce.products import register_product_routes
from channel_sandboxes.woocommerce.sandbox import API, USER_AGENT, WooConfig, WooSandbox
from channel_sandboxes.woocommerce.shipment_tracking import register_shipment_tracking_routes
from channel_sandboxes.woocommerce.system import register_system_routes
from channel_sandboxes.woocommerce.variations import register_variation_routes
from channel_sandboxes.woocommerce.webhooks import register_webhook_routes
from channel_sandboxes.woocommerce.wp_rest import WooError, register_rest_conventions

__all__ = ["API", "USER_AGENT", "WooConfig", "WooError", "WooSandbox", "create_app"]


def create_app(config: WooConfig | None = None) -> Flask:
    """Build a WooCommerce sandbox app; state lives in memory on `app.extensions["sandbox"]`."""
    sandbox = WooSandbox(config or WooConfig())
    app = Flask("channel_sandboxes.woocommerce")
    app.extensions["sandbox"] = sandbox
    register_rest_conventions(app)
    register_system_routes(app, sandbox)
    register_product_routes(app, sandbox)
    register_variation_routes(app, sandbox)
    register_order_routes(app, sandbox)
    register_shipment_tracking_routes(app, sandbox)
    register_webhook_routes(app, sandbox)
    register_control_routes(app, sandbox)
    return app
