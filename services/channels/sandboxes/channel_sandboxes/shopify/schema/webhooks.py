"""Webhook subscriptions: topics, types, the `webhookSubscriptions` query and create/delete mutations."""

from __future__ import annotations

from typing import Any

from channel_sandboxes.shopify.models import Subscription, gid, parse_gid
from channel_sandboxes.shopify.schema.context import ExecContext, Resolver, Typed, user_error
from channel_sandboxes.shopify.schema.nodes import typed_lookup
from channel_sandboxes.shopify.schema.paging import paginate

# GraphQL enum -> REST topic name (the form deliveries carry in X-Shopify-Topic).
WEBHOOK_TOPICS = {
    "ORDERS_CREATE": "orders/create",
    "ORDERS_UPDATED": "orders/updated",
    "ORDERS_PAID": "orders/paid",
    "ORDERS_CANCELLED": "orders/cancelled",
    "ORDERS_FULFILLED": "orders/fulfilled",
    "ORDERS_PARTIALLY_FULFILLED": "orders/partially_fulfilled",
    "FULFILLMENTS_CREATE": "fulfillments/create",
    "INVENTORY_LEVELS_UPDATE": "inventory_levels/update",
    "PRODUCTS_UPDATE": "products/update",
    "APP_UNINSTALLED": "app/uninstalled",
}
TOPIC_ENUMS = {v: k for k, v in WEBHOOK_TOPICS.items()}

TYPES: dict[str, dict[str, str]] = {
    "QueryRoot": {
        "webhookSubscriptions": "WebhookSubscriptionConnection!",
        "webhookSubscription": "WebhookSubscription",
    },
    "Mutation": {
        "webhookSubscriptionCreate": "WebhookSubscriptionCreatePayload",
        "webhookSubscriptionDelete": "WebhookSubscriptionDeletePayload",
    },
    "WebhookSubscription": {
        "id": "ID!",
        "legacyResourceId": "UnsignedInt64!",
        "topic": "WebhookSubscriptionTopic!",
        "format": "WebhookSubscriptionFormat!",
        "uri": "String!",
        "callbackUrl": "URL!",
        "endpoint": "WebhookSubscriptionEndpoint!",
        "createdAt": "DateTime!",
        "updatedAt": "DateTime!",
    },
    "WebhookSubscriptionEndpoint": {},
    "WebhookHttpEndpoint": {"callbackUrl": "URL!"},
    "WebhookSubscriptionCreatePayload": {
        "webhookSubscription": "WebhookSubscription",
        "userErrors": "[UserError!]!",
    },
    "WebhookSubscriptionDeletePayload": {"deletedWebhookSubscriptionId": "ID", "userErrors": "[UserError!]!"},
}


def _q_webhooks(_src: Any, args: dict[str, Any], ctx: ExecContext) -> dict:
    topics = {WEBHOOK_TOPICS.get(t, t) for t in (args.get("topics") or [])}
    subs = [s for s in ctx.state.subscriptions.values() if not topics or s.topic in topics]
    return paginate(subs, args, lambda s: [s.id], "webhookSubscriptions")


def _m_webhook_create(_src: Any, args: dict[str, Any], ctx: ExecContext) -> dict[str, Any]:
    state = ctx.state
    topic = WEBHOOK_TOPICS.get(str(args.get("topic")))
    sub_in = args.get("webhookSubscription") or {}
    address = sub_in.get("uri") or sub_in.get("callbackUrl")
    if topic is None:
        return {
            "webhookSubscription": None,
            "userErrors": [user_error(None, ["topic"], "Topic is not supported by the sandbox")],
        }
    if not isinstance(address, str) or not address.startswith(("http://", "https://")):
        return {
            "webhookSubscription": None,
            "userErrors": [user_error(None, ["callbackUrl"], "Address is invalid")],
        }
    if any(s.topic == topic and s.address == address for s in state.subscriptions.values()):
        return {
            "webhookSubscription": None,
            "userErrors": [user_error(None, ["address"], "Address for this topic has already been taken")],
        }
    sub = Subscription(state.new_id(), topic, address, str(sub_in.get("format") or "JSON"))
    state.subscriptions[sub.id] = sub
    return {"webhookSubscription": sub, "userErrors": []}


def _m_webhook_delete(_src: Any, args: dict[str, Any], ctx: ExecContext) -> dict[str, Any]:
    sub_id = parse_gid(args.get("id"), "WebhookSubscription")
    if sub_id not in ctx.state.subscriptions:
        return {
            "deletedWebhookSubscriptionId": None,
            "userErrors": [user_error(None, ["id"], "Webhook subscription does not exist")],
        }
    del ctx.state.subscriptions[sub_id]
    return {"deletedWebhookSubscriptionId": gid("WebhookSubscription", sub_id), "userErrors": []}


RESOLVERS: dict[str, dict[str, Resolver]] = {
    "QueryRoot": {
        "webhookSubscriptions": _q_webhooks,
        "webhookSubscription": typed_lookup("WebhookSubscription"),
    },
    "Mutation": {
        "webhookSubscriptionCreate": _m_webhook_create,
        "webhookSubscriptionDelete": _m_webhook_delete,
    },
    "WebhookSubscription": {
        "id": lambda s, _a, _c: gid("WebhookSubscription", s.id),
        "legacyResourceId": lambda s, _a, _c: str(s.id),
        "topic": lambda s, _a, _c: TOPIC_ENUMS.get(s.topic, s.topic),
        "uri": lambda s, _a, _c: s.address,
        "callbackUrl": lambda s, _a, _c: s.address,
        "endpoint": lambda s, _a, _c: Typed("WebhookHttpEndpoint", {"callbackUrl": s.address}),
        "createdAt": lambda s, _a, _c: s.created_at,
        "updatedAt": lambda s, _a, _c: s.created_at,
    },
}
