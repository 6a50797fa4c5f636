"""Webhooks (CHANNELS.md 4.5; EcomPHP/tiktokshop-php src/Webhook.php): signature check over the
raw bytes, then the payload {type, tts_notification_id, shop_id, timestamp, data{order_id,
order_status, update_time}}. Types (Webhook.php constants): 1 order status change, 2 reverse
order status, 3 recipient address update, 4 package update, 5 product audit result."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping

from tiktok_connector.protocol.api import clean_id
from tiktok_connector.protocol.signing import webhook_signature_valid
from tiktok_connector.protocol.values import ParsedWebhook, WebhookKind

ORDER_TYPES = {
    1: "ORDER_STATUS_CHANGE",
    2: "REVERSE_ORDER_STATUS_CHANGE",
    3: "RECIPIENT_ADDRESS_UPDATE",
    4: "PACKAGE_UPDATE",
}
PRODUCT_TYPES = {5: "PRODUCT_AUDIT_RESULT_UPDATE"}
SIGNATURE_HEADER = "authorization"


def webhook_problem(
    headers: Mapping[str, str],
    raw: bytes,
    *,
    app_key: str,
    app_secrets: tuple[str, ...],
    expected_shop: str,
    max_age_seconds: float,
    now: float | None = None,
) -> str:
    """Why the delivery is refused, or "" (signature first: nothing unsigned is parsed)."""
    signature = headers.get(SIGNATURE_HEADER, "")
    if not signature:
        return "missing Authorization signature"
    if not webhook_signature_valid(signature, app_key=app_key, app_secrets=app_secrets, raw_body=raw):
        return "signature mismatch"
    try:
        payload = json.loads(raw)
    except ValueError:
        return "body is not JSON"
    if not isinstance(payload, Mapping):
        return "body is not a JSON object"
    if not clean_id(payload.get("tts_notification_id"), 128):
        return "no tts_notification_id"
    shop = str(payload.get("shop_id") or "")
    if not expected_shop or shop != expected_shop:
        return "the delivery is for another shop"
    stamp = payload.get("timestamp")
    current = now if now is not None else time.time()
    if isinstance(stamp, int | float) and not isinstance(stamp, bool) and current - stamp > max_age_seconds:
        return "delivery too old"
    return ""


def parsed_webhook(raw: bytes) -> ParsedWebhook:
    """A verified delivery (webhook_problem returned "")."""
    payload = json.loads(raw)
    kind_code = payload.get("type")
    data = payload.get("data") if isinstance(payload.get("data"), Mapping) else {}
    if kind_code in ORDER_TYPES:
        kind, topic = WebhookKind.ORDER, ORDER_TYPES[kind_code]
    elif kind_code in PRODUCT_TYPES:
        kind, topic = WebhookKind.PRODUCT, PRODUCT_TYPES[kind_code]
    else:
        kind, topic = WebhookKind.OTHER, f"TYPE_{kind_code}"
    order_id = clean_id(data.get("order_id"), 64) if kind is WebhookKind.ORDER else ""
    return ParsedWebhook(
        delivery_id=clean_id(payload.get("tts_notification_id"), 128),
        topic=topic,
        kind=kind,
        shop_id=str(payload.get("shop_id") or ""),
        order_id=order_id,
    )
