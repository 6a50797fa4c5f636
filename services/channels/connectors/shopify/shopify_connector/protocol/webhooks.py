"""Shopify webhooks: HMAC verification, subscribed topics, freshness and payload checks, kinds."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from omnistock_connector_kit.webhook_payloads import is_count, is_positive_id
from shopify_connector.protocol.api import SHOP_DOMAIN_RE
from shopify_connector.protocol.orders import deleted_order, order_from_rest
from shopify_connector.protocol.values import ParsedWebhook, WebhookKind


def webhook_hmac(raw_body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()).decode()


def verify_webhook(raw_body: bytes, signature: str, secrets: Sequence[str]) -> bool:
    """X-Shopify-Hmac-Sha256 = base64(HMAC-SHA256(client secret, RAW body)); try each secret
    because Shopify may sign with the previous secret for an hour after a rotation."""
    if not signature:
        return False
    return any(
        hmac.compare_digest(webhook_hmac(raw_body, secret).encode(), signature.strip().encode())
        for secret in secrets
        if secret
    )


# Topics OmniStock subscribes a shop to and knows how to read (CHANNELS.md 1.6). A delivery on any
# other topic did not come from one of our subscriptions: it is refused, whatever its signature.
# A connection may narrow this set with the comma-separated setting `webhook_topics`.
SUBSCRIBED_TOPICS = frozenset(
    {
        "orders/create",
        "orders/updated",
        "orders/paid",
        "orders/cancelled",
        "orders/fulfilled",
        "orders/partially_fulfilled",
        "orders/delete",
        "products/create",
        "products/update",
        "products/delete",
        "inventory_levels/update",
        "app/uninstalled",
    }
)
# Shopify retries a failed delivery 8 times over 4 hours, resending the ORIGINAL payload, and says
# to judge staleness by X-Shopify-Triggered-At or a timestamp in the payload
# (https://shopify.dev/changelog/updates-to-webhook-retry-mechanism). The default window covers
# that retry horizon plus an hour of slack, so a genuine retry is never refused.
WEBHOOK_MAX_AGE_SECONDS = 5 * 3600
# How far ahead of our clock a timestamp may be (clock skew), before it is "from the future".
WEBHOOK_MAX_SKEW_SECONDS = 300
_FRACTION_RE = re.compile(r"(\.\d{6})\d+")


def subscribed_topics(setting: str) -> frozenset[str]:
    """The topics this connection accepts: SUBSCRIBED_TOPICS, narrowed by its `webhook_topics`."""
    chosen = {t.strip().lower() for t in setting.split(",") if t.strip()}
    return SUBSCRIBED_TOPICS & chosen if chosen else SUBSCRIBED_TOPICS


def _timestamp(value: Any) -> float | None:
    """Epoch seconds of an ISO 8601 time (Shopify sends up to nanoseconds), None if unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = _FRACTION_RE.sub(r"\1", value.strip().replace("Z", "+00:00"))
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _age_problem(what: str, stamp: float | None, now: float, max_age: float) -> str | None:
    if stamp is None:
        return f"{what} is missing or not a time"
    if now - stamp > max_age:
        return f"{what} is older than {int(max_age)} s"
    if stamp - now > WEBHOOK_MAX_SKEW_SECONDS:
        return f"{what} is in the future"
    return None


def _payload_problem(topic: str, payload: Any, shop: str) -> str | None:
    """Does the signed body look like what `topic` carries? Only the body is signed, so this is what
    ties a genuine body to the (unsigned) topic header: an order body cannot pass as app/uninstalled."""
    if not isinstance(payload, dict):
        return "the body is not a JSON object"
    resource, _, event = topic.partition("/")
    if topic == "app/uninstalled":
        # The shop object: its own domain must be the connection's shop (signed, unlike the header).
        domain = str(payload.get("myshopify_domain") or payload.get("domain") or "").lower()
        return None if domain and domain == shop else "the shop in the body is not the connection's shop"
    if resource == "inventory_levels":
        if is_positive_id(payload.get("inventory_item_id")) and is_positive_id(payload.get("location_id")):
            return None
        return "the body is not an inventory level"
    if not is_positive_id(payload.get("id")):
        return f"the body has no {resource[:-1]} id"
    if event == "delete":
        return None
    if resource == "orders":
        lines = payload.get("line_items")
        if not isinstance(lines, list) or not all(
            isinstance(line, dict) and is_count(line.get("quantity")) for line in lines
        ):
            return "the body is not an order (line_items with quantities)"
    if resource == "products" and not isinstance(payload.get("variants"), list):
        return "the body is not a product (variants)"
    return None


def webhook_problem(
    headers: Mapping[str, str],
    raw_body: bytes,
    *,
    secrets: Sequence[str],
    expected_shop: str,
    topics: frozenset[str] = SUBSCRIBED_TOPICS,
    max_age_seconds: float = WEBHOOK_MAX_AGE_SECONDS,
    now: float | None = None,
) -> str | None:
    """Why a delivery (lower-case header names) must be refused, or None when it is genuine.

    The app's one client secret signs every shop's webhooks and covers the body only, so a valid
    signature proves "some shop of this app", nothing more. Hence: the shop header is required and
    must be the connection's; the topic must be one we subscribe to and match the body's shape; and
    staleness is judged on X-Shopify-Triggered-At when sent and, for orders, on the body's own
    `updated_at` (signed, and Shopify resends the original payload on retries, so it dates the event).
    """
    if not verify_webhook(raw_body, headers.get("x-shopify-hmac-sha256", ""), secrets):
        return "the signature does not verify"
    shop = headers.get("x-shopify-shop-domain", "").strip().lower()
    expected = expected_shop.strip().lower()
    if not shop or not SHOP_DOMAIN_RE.match(shop):
        return "X-Shopify-Shop-Domain is missing or not a *.myshopify.com domain"
    if not expected or shop != expected:
        return "the delivery is for another shop"
    topic = headers.get("x-shopify-topic", "").strip().lower()
    if topic not in topics:
        return f"topic {topic[:64]!r} is not one this connection subscribed to"
    if not (headers.get("x-shopify-webhook-id", "") or headers.get("x-shopify-event-id", "")).strip():
        return "X-Shopify-Webhook-Id is missing"
    clock = time.time() if now is None else now
    triggered = headers.get("x-shopify-triggered-at", "")
    if triggered and (
        problem := _age_problem("X-Shopify-Triggered-At", _timestamp(triggered), clock, max_age_seconds)
    ):
        return problem
    try:
        payload = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError):
        return "the body is not JSON"
    if problem := _payload_problem(topic, payload, shop):
        return problem
    if topic.startswith("orders/") and topic != "orders/delete":
        return _age_problem(
            "the order's updated_at", _timestamp(payload.get("updated_at")), clock, max_age_seconds
        )
    return None


def webhook_kind(topic: str) -> WebhookKind:
    head = topic.split("/", 1)[0].lower()
    if head == "orders":
        return WebhookKind.ORDER
    if head == "products":
        return WebhookKind.PRODUCT
    if head in ("inventory_levels", "inventory_items"):
        return WebhookKind.INVENTORY
    if topic.lower() == "app/uninstalled":
        return WebhookKind.APP_UNINSTALLED
    return WebhookKind.OTHER


def parsed_webhook(headers: Mapping[str, str], raw_body: bytes) -> ParsedWebhook:
    """What a delivery that `webhook_problem` accepted says (headers lower-cased): its id, topic
    and kind, and for an order topic the order (orders/delete: cancelled, raw status "deleted")."""
    topic = headers["x-shopify-topic"].strip().lower()
    delivery_id = (headers.get("x-shopify-webhook-id", "") or headers.get("x-shopify-event-id", "")).strip()
    kind = webhook_kind(topic)
    if kind is not WebhookKind.ORDER:
        return ParsedWebhook(delivery_id, topic, kind)
    order = order_from_rest(json.loads(raw_body))  # shape checked by webhook_problem
    return ParsedWebhook(
        delivery_id, topic, kind, (deleted_order(order) if topic == "orders/delete" else order,)
    )
