"""The WP REST index (`/wp-json/`, public) and `system_status`, the call connectors validate keys with."""

from __future__ import annotations

from flask import Flask, Response, request

from channel_sandboxes.common import json_response
from channel_sandboxes.woocommerce.sandbox import API, WooSandbox
from channel_sandboxes.woocommerce.wp_rest import api_guard


def register_system_routes(app: Flask, sandbox: WooSandbox) -> None:
    api = api_guard(sandbox)

    @app.get("/wp-json/")
    def wp_index() -> Response:
        """The WP REST index: public, so a connector can check the URL before the keys."""
        return json_response(
            {
                "name": "OmniStock WooCommerce Sandbox",
                "url": sandbox.base_url(),
                "namespaces": ["wp/v2", "wc/v3"],
            }
        )

    @app.get(f"{API}/system_status")
    @api("system_status", "view")
    def system_status() -> Response:
        return json_response(
            {
                "environment": {
                    "home_url": sandbox.base_url(),
                    "site_url": sandbox.base_url(),
                    "version": "9.9.0",
                    "wp_version": "6.8.1",
                    "wp_multisite": False,
                },
                "database": {},
                "active_plugins": [],
                "theme": {},
                "settings": {
                    "api_enabled": True,
                    "currency": sandbox.config.currency,
                    "currency_symbol": "$",
                },
                "security": {"secure_connection": request.scheme == "https"},
            }
        )
