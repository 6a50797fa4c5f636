"""Flask app of the TikTok Shop sandbox: OAuth, the Partner API (202309), webhooks, control API.

One shop per instance. Vendor-facing routes keep TikTok's paths and envelope; the `/_sandbox/*`
control API is ours. Routes live in oauth.py, api.py, catalog_api.py
(publishing and logistics) and control.py; the instance in sandbox.py.
"""

from __future__ import annotations

from flask import Flask

from channel_sandboxes.tiktok.api import register_api_routes, tiktok_sign
from channel_sandboxes.tiktok.catalog_api import register_catalog_routes
from channel_sandboxes.tiktok.control import register_control_routes
from channel_sandboxes.tiktok.oauth import register_oauth_routes
from channel_sandboxes.tiktok.sandbox import TikTokConfig, TikTokSandbox, webhook_signature

__all__ = ["TikTokConfig", "TikTokSandbox", "create_app", "tiktok_sign", "webhook_signature"]


def create_app(config: TikTokConfig | None = None) -> Flask:
    """Build a TikTok sandbox app; all state lives in memory on `app.extensions["sandbox"]`."""
    sandbox = TikTokSandbox(config or TikTokConfig())
    app = Flask("channel_sandboxes.tiktok")
    app.extensions["sandbox"] = sandbox
    register_oauth_routes(app, sandbox)
    register_catalog_routes(register_api_routes(app, sandbox), sandbox)
    register_control_routes(app, sandbox)
    return app
