"""Webhooks (`/webhooks`): create (with the activation ping), list, delete with `force=true`."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask, Response, request

from channel_sandboxes.common import json_response
from channel_sandboxes.woocommerce.sandbox import API, WooSandbox
from channel_sandboxes.woocommerce.state import WEBHOOK_TOPICS, WooStore, WooWebhook
from channel_sandboxes.woocommerce.wp_rest import WooError, api_guard, ordered, paged, rest_body


def new_webhook(
    store: WooStore, data: dict[str, Any], default_secret: str, generate_secret: bool
) -> WooWebhook:
    """Validate and store a webhook; without a secret, the REST API generates one, the control API uses ours."""
    topic = data.get("topic")
    if topic not in WEBHOOK_TOPICS and not (isinstance(topic, str) and topic.startswith("action.")):
        raise WooError("woocommerce_rest_webhook_invalid_topic", "Webhook topic is invalid.", 400)
    url = data.get("delivery_url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise WooError(
            "rest_missing_callback_param", "Missing parameter(s): delivery_url", 400, params=["delivery_url"]
        )
    secret = data.get("secret") or (secrets.token_urlsafe(37) if generate_secret else default_secret)
    status = data.get("status") or "active"
    if status not in ("active", "paused", "disabled"):
        raise WooError("rest_invalid_param", "Invalid parameter(s): status", 400)
    with store.lock:
        hook = WooWebhook(store.new_id(), str(data.get("name") or topic), topic, url, str(secret), status)
        store.webhooks[hook.id] = hook
    return hook


def register_webhook_routes(app: Flask, sandbox: WooSandbox) -> None:
    store = sandbox.store
    api = api_guard(sandbox)

    @app.post(f"{API}/webhooks")
    @api("webhooks/create", "create")
    def create_webhook() -> Response:
        data = rest_body()
        try:
            hook = new_webhook(store, data, sandbox.config.webhook_secret, generate_secret=True)
        except WooError as exc:
            return exc.response()
        if hook.status == "active":
            sandbox.webhooks.wait([sandbox.ping(hook)])
        return json_response(store.webhook_json(hook), 201)

    @app.get(f"{API}/webhooks")
    @api("webhooks/list", "list")
    def list_webhooks() -> Response:
        with store.lock:
            hooks = list(store.webhooks.values())
        return paged(
            ordered(hooks, "date", {"date", "id", "include", "title"}), store.webhook_json, store.lock
        )

    @app.delete(f"{API}/webhooks/<int:hook_id>")
    @api("webhooks/delete", "delete")
    def delete_webhook(hook_id: int) -> Response:
        if request.args.get("force") not in ("true", "1"):
            raise WooError("woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.", 501)
        with store.lock:
            hook = store.webhooks.pop(hook_id, None)
        if hook is None:
            raise WooError("woocommerce_rest_webhook_invalid_id", "Invalid ID.", 404)
        return json_response(store.webhook_json(hook))
