"""Flask app of the eBay sandbox: OAuth (consent with RuName, Basic-auth token endpoint), Sell
Inventory v1 (with listing creation, listing.py), Sell Fulfillment v1, Post-Order v2 cancellation, Commerce Identity v1, Commerce Notification v1 (public key), and
the `/_sandbox/*` control API. One seller per instance; state lives on `app.extensions["sandbox"]`."""

from __future__ import annotations

from flask import Flask

from channel_sandboxes.ebay.api import register_api_routes
from channel_sandboxes.ebay.control import register_control_routes
from channel_sandboxes.ebay.fulfillment import register_fulfillment_routes
from channel_sandboxes.ebay.listing import register_listing_routes
from channel_sandboxes.ebay.oauth import register_oauth_routes
from channel_sandboxes.ebay.post_order import register_post_order_routes
from channel_sandboxes.ebay.sandbox import EbayConfig, EbaySandbox

__all__ = ["EbayConfig", "EbaySandbox", "create_app"]


def create_app(config: EbayConfig | None = None) -> Flask:
    sandbox = EbaySandbox(config or EbayConfig())
    app = Flask("channel_sandboxes.ebay")
    app.extensions["sandbox"] = sandbox
    register_oauth_routes(app, sandbox)
    register_api_routes(app, sandbox)
    register_listing_routes(app, sandbox)
    register_fulfillment_routes(app, sandbox)
    register_post_order_routes(app, sandbox)
    register_control_routes(app, sandbox)
    return app
