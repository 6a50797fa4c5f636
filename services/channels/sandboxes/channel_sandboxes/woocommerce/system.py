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

    @app.get(f"{API}/settings/general/woocommerce_currency")
    @api("settings", "view")
    def currency_setting() -> Response:
        """One setting option, as the REST API answers it (GET /wp-json/wc/v3/settings/<group_id>/<id>,
        https://developer.woocommerce.com/docs/apis/rest-api/v3/setting-options/): the store's
        currency is its `value`."""
        return json_response(
            {
                "id": "woocommerce_currency",
                "label": "Currency",
                "description": "This controls what currency prices are listed at in the catalog and which "
                "currency gateways will take payments in.",
                "type": "select",
                "default": "USD",
                "tip": "This controls what currency prices are listed at in the catalog and which "
                "currency gateways will take payments in.",
                "value": sandbox.config.currency,
                "group_id": "general",
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
