"""Flask app of the Shopify sandbox: OAuth, the GraphQL Admin endpoint, webhooks, the control API.

One shop per instance. Vendor-facing routes keep Shopify's paths, status codes and bodies; the
`/_sandbox/*` control API is ours (stable: other components' tests drive it). The routes live in
oauth.py, graphql_endpoint.py and control.py; the instance (settings, state, webhook signing) in
sandbox.py. `ShopifyConfig`, `ShopifySandbox` and `shopify_query_hmac` are re-exported here.
"""

from __future__ import annotations

from flask import Flask

from channel_sandboxes.shopify.control import register_control_routes
from channel_sandboxes.shopify.graphql_endpoint import register_graphql_route
from channel_sandboxes.shopify.oauth import register_oauth_routes, shopify_query_hmac
from channel_sandboxes.shopify.sandbox import DEFAULT_SCOPES, ShopifyConfig, ShopifySandbox

__all__ = ["DEFAULT_SCOPES", "ShopifyConfig", "ShopifySandbox", "create_app", "shopify_query_hmac"]


def create_app(config: ShopifyConfig | None = None) -> Flask:
    """Build a Shopify sandbox app; all state lives in memory on `app.extensions["sandbox"]`."""
    sandbox = ShopifySandbox(config or ShopifyConfig())
    app = Flask("channel_sandboxes.shopify")
    app.extensions["sandbox"] = sandbox
    register_oauth_routes(app, sandbox)
    register_graphql_route(app, sandbox)
    register_control_routes(app, sandbox)
    return app
