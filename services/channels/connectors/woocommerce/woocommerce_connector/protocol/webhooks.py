"""WooCommerce webhooks: signature check, subscribed topics, same-store and payload checks, kinds."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any
from urllib.parse import parse_qs, urlparse

from omnistock_connector_kit.webhook_payloads import is_count, is_positive_id
from woocommerce_connector.protocol.api import API_VERSION
from woocommerce_connector.protocol.orders import OrderData, UnifiedStatus, parse_order

SIGNATURE_HEADER = "x-wc-webhook-signature"
DELIVERY_HEADER = "x-wc-webhook-delivery-id"
TOPIC_HEADER = "x-wc-webhook-topic"
WEBHOOK_ID_HEADER = "x-wc-webhook-id"
# Also set by WC_Webhook::deliver() on every delivery (woocommerce/woocommerce,
# plugins/woocommerce/includes/class-wc-webhook.php): Source = home_url('/'), Resource and Event
# are the two halves of the topic. None of them is signed; only the body is.
SOURCE_HEADER = "x-wc-webhook-source"
RESOURCE_HEADER = "x-wc-webhook-resource"
EVENT_HEADER = "x-wc-webhook-event"


class WebhookKind(Enum):
    ORDER = "ORDER"
    PRODUCT = "PRODUCT"
    INVENTORY = "INVENTORY"
    PING = "PING"
    OTHER = "OTHER"


class WebhookRefused(ValueError):
    """The delivery is not one this connection's store sent us: refuse it (UNAUTHENTICATED)."""


class SignatureError(WebhookRefused):
    """The webhook's signature is missing or does not match."""


# Topics OmniStock subscribes a store to and knows how to read (CHANNELS.md 2.4); a delivery on any
# other topic is refused. A connection may narrow the set with the setting `webhook_topics`.
SUBSCRIBED_TOPICS = frozenset(
    {
        "order.created",
        "order.updated",
        "order.deleted",
        "order.restored",
        "product.created",
        "product.updated",
        "product.deleted",
        "product.restored",
        "action.woocommerce_product_set_stock",
        "action.woocommerce_variation_set_stock",
    }
)


def subscribed_topics(setting: str) -> frozenset[str]:
    """The topics this connection accepts: SUBSCRIBED_TOPICS, narrowed by its `webhook_topics`."""
    chosen = {t.strip().lower() for t in setting.split(",") if t.strip()}
    return SUBSCRIBED_TOPICS & chosen if chosen else SUBSCRIBED_TOPICS


def store_url_of(settings: Mapping[str, str]) -> str:
    """The store's own URL: `store_url`, else `api_base_url` without its /wp-json/wc/v3 tail."""
    if store := settings.get("store_url", "").strip():
        return store
    base = settings.get("api_base_url", "").strip().rstrip("/")
    suffix = "/wp-json/" + API_VERSION
    return base[: -len(suffix)] if base.endswith(suffix) else base


def _site(url: str) -> tuple[str, int | None, str] | None:
    """(host, non-default port, path) of a site URL; the scheme is left out because a WordPress
    behind a TLS proxy may report http:// for an https:// store. None when unreadable."""
    try:
        parsed = urlparse(url.strip())
        port = parsed.port
    except ValueError:
        return None
    if not parsed.hostname:
        return None
    if port == {"http": 80, "https": 443}.get(parsed.scheme):
        port = None
    return parsed.hostname.lower(), port, parsed.path.rstrip("/")


def same_store(source: str, store_url: str) -> bool:
    """Is X-WC-Webhook-Source (home_url('/')) the connection's store?"""
    theirs, ours = _site(source), _site(store_url)
    return theirs is not None and theirs == ours


def payload_problem(topic: str, payload: Any) -> str | None:
    """Does the signed body look like what `topic` carries (the topic header itself is unsigned)?
    Deleted resources carry only {id}; action topics carry {action, arg} (WC_Webhook::build_payload)."""
    if not isinstance(payload, Mapping):
        return "the body is not a JSON object"
    resource, _, event = topic.partition(".")
    if resource == "action":
        return None if payload.get("action") == event else "the body is not this action's payload"
    if not is_positive_id(payload.get("id")):
        return f"the body has no {resource} id"
    if resource == "order" and event != "deleted":
        lines = payload.get("line_items")
        if not isinstance(lines, list) or not all(
            isinstance(line, Mapping) and is_count(line.get("quantity")) for line in lines
        ):
            return "the body is not an order (line_items with quantities)"
    return None


@dataclass(frozen=True)
class WebhookData:
    delivery_id: str
    topic: str
    kind: WebhookKind
    orders: tuple[OrderData, ...] = ()


def sign(secret: str, body: bytes) -> str:
    """X-WC-Webhook-Signature: base64(HMAC-SHA256(secret, raw body)) (CHANNELS.md 2.4)."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verify_signature(secret: str, body: bytes, signature: str) -> bool:
    """Constant-time check of the signature over the raw bytes.

    Woo signs with the HTML-entity-decoded secret (wp_specialchars_decode), so a secret stored
    with entities ("a&amp;b") is also tried decoded; both comparisons always run.
    """
    if not secret or not signature:
        return False
    candidates = {secret, html.unescape(secret)}
    matches = [hmac.compare_digest(sign(c, body).encode(), signature.strip().encode()) for c in candidates]
    return any(matches)


def ping_webhook_id(body: bytes) -> str | None:
    """The webhook id of Woo's creation ping (form body `webhook_id=<n>`), else None."""
    try:
        text = body.decode("ascii").strip()
    except UnicodeDecodeError:
        return None
    parsed = parse_qs(text, keep_blank_values=True, strict_parsing=False)
    values = parsed.get("webhook_id")
    if set(parsed) != {"webhook_id"} or not values or len(values) != 1 or not values[0].isdigit():
        return None
    return values[0]


def webhook_kind(topic: str) -> WebhookKind:
    resource = topic.split(".", 1)[0]
    if resource == "order":
        return WebhookKind.ORDER
    if resource == "product":
        return WebhookKind.PRODUCT
    if resource == "action" and "stock" in topic:
        return WebhookKind.INVENTORY
    return WebhookKind.OTHER


def parse_webhook(
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
    *,
    store_url: str,
    topics: frozenset[str] = SUBSCRIBED_TOPICS,
) -> WebhookData:
    """Verify, then parse one delivery (header names lower-case).

    The unsigned creation ping is the only unsigned body accepted: it carries nothing but a
    webhook id, and Woo refuses to activate a webhook whose ping is not answered 2xx. Any other
    body without a valid signature raises SignatureError before the JSON is even parsed. A signed
    delivery must then come from the connection's store (X-WC-Webhook-Source), on a topic we
    subscribe to whose resource/event headers agree with it, with a body of that topic's shape;
    otherwise WebhookRefused. WooCommerce sends no delivery timestamp, so there is no age check.
    """
    signature = headers.get(SIGNATURE_HEADER, "")
    if not signature:
        webhook_id = ping_webhook_id(body)
        if webhook_id is not None:
            return WebhookData(delivery_id=f"ping:{webhook_id}", topic="ping", kind=WebhookKind.PING)
        raise SignatureError("missing X-WC-Webhook-Signature")
    if not verify_signature(secret, body, signature):
        raise SignatureError("X-WC-Webhook-Signature does not match the body")
    if not store_url or not same_store(headers.get(SOURCE_HEADER, ""), store_url):
        raise WebhookRefused("X-WC-Webhook-Source is not the connection's store")
    topic = headers.get(TOPIC_HEADER, "").strip().lower()
    if topic not in topics:
        raise WebhookRefused(f"topic {topic[:64]!r} is not one this connection subscribed to")
    resource = headers.get(RESOURCE_HEADER, "").strip().lower()
    event = headers.get(EVENT_HEADER, "").strip().lower()
    if f"{resource}.{event}" != topic:
        raise WebhookRefused("X-WC-Webhook-Resource/Event do not match X-WC-Webhook-Topic")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookRefused("the body is not JSON") from None
    if problem := payload_problem(topic, payload):
        raise WebhookRefused(problem)
    delivery_id = headers.get(DELIVERY_HEADER, "").strip()
    if not delivery_id:
        # No delivery id to dedupe on: fall back to a digest of what was signed, so the same
        # bytes delivered twice still dedupe.
        delivery_id = "sha256:" + hashlib.sha256(body).hexdigest()
    kind = webhook_kind(topic)
    orders: tuple[OrderData, ...] = ()
    if kind is WebhookKind.ORDER:
        # raw_json: the signed body exactly as the store sent it (it parsed as JSON, so it is UTF-8).
        order = parse_order(payload, raw_json=body.decode("utf-8", "replace"))
        if topic == "order.deleted" and not order.raw_status:
            # Deletion sends only {id}: the order is gone from the shop, so its stock is free.
            order = replace(
                order,
                status=UnifiedStatus.CANCELLED,
                raw_status="deleted",
                channel_status={"status": "deleted"},
            )
        orders = (order,)
    return WebhookData(delivery_id=delivery_id, topic=topic, kind=kind, orders=orders)
