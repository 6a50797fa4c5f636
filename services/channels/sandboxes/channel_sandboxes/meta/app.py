"""Flask app of the Meta sandbox: the Graph API v25.0 subset and Login dialog the Meta connector
uses (graph.py), plus the control API (the shared routes and control.py). `MetaConfig` and
`MetaSandbox` are re-exported here."""

from __future__ import annotations

from flask import Flask

from channel_sandboxes.control import register_common_control_routes
from channel_sandboxes.meta.control import register_control_routes
from channel_sandboxes.meta.graph import register_graph_routes
from channel_sandboxes.meta.sandbox import API_VERSION, USER_AGENT, MetaConfig, MetaSandbox

__all__ = ["API_VERSION", "USER_AGENT", "MetaConfig", "MetaSandbox", "create_app"]


def create_app(config: MetaConfig | None = None) -> Flask:
    """Build a Meta sandbox app; state lives in memory on `app.extensions["sandbox"]`."""
    sandbox = MetaSandbox(config or MetaConfig())
    app = Flask("channel_sandboxes.meta")
    app.extensions["sandbox"] = sandbox
    register_common_control_routes(app, sandbox)
    register_control_routes(app, sandbox)
    register_graph_routes(app, sandbox)
    return app
