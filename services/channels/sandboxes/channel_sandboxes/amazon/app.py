"""Flask app of the Amazon SP-API sandbox: LWA and consent, Listings Items 2021-08-01, Feeds
2021-06-30 (JSON_LISTINGS_FEED), Orders v0, Sellers v1, and the control API.

One seller per instance. Vendor-facing routes keep Amazon's paths, status codes and error envelope;
the `/_sandbox/*` control API is ours (stable). Amazon posts nothing over HTTP (notifications go to
SQS/EventBridge), so this sandbox sends no webhooks.
"""

from __future__ import annotations

from flask import Flask

from channel_sandboxes.amazon.control import register_control_routes
from channel_sandboxes.amazon.feeds import register_feed_routes
from channel_sandboxes.amazon.listings import register_listings_routes
from channel_sandboxes.amazon.lwa import register_lwa_routes
from channel_sandboxes.amazon.orders import register_order_routes
from channel_sandboxes.amazon.sandbox import USAGE_PLANS, AmazonConfig, AmazonSandbox

__all__ = ["USAGE_PLANS", "AmazonConfig", "AmazonSandbox", "create_app"]


def create_app(config: AmazonConfig | None = None) -> Flask:
    """Build an Amazon sandbox app; all state lives in memory on `app.extensions["sandbox"]`."""
    sandbox = AmazonSandbox(config or AmazonConfig())
    app = Flask("channel_sandboxes.amazon")
    app.extensions["sandbox"] = sandbox
    register_lwa_routes(app, sandbox)
    register_listings_routes(app, sandbox)
    register_feed_routes(app, sandbox)
    register_order_routes(app, sandbox)
    register_control_routes(app, sandbox)
    return app
