"""Shopify protocol (pure): HMACs with independently computed vectors, parsing, status mapping."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from omnistock_common.errors import FailedPrecondition
from shopify_connector import protocol as p

# Vectors computed outside this code base:
# - CHANNELS.md 1.2 (secret "hush"), re-checked with `openssl dgst -sha256 -hmac hush`;
# - the array/escaping vector and the webhook vector with openssl over the literal messages
#   'ids=["1", "2"]&shop=a%26b.myshopify.com&x%3Dy=100%25' and WEBHOOK_BODY.
OAUTH_PARAMS = {
    "code": "0907a61c0c8d55e99db179b68161bc00",
    "shop": "some-shop.myshopify.com",
    "timestamp": "1337178173",
}
OAUTH_HMAC = "4712bf92ffc2917d15a2f5a273e39f0116667419aa4b6ac0b3baaf26fa3c4d20"
OAUTH_HMAC_WITH_STATE = "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf"
WEBHOOK_BODY = b'{"id":820982911946154508,"email":"jon@example.com"}'
WEBHOOK_HMAC = "D0UMXmhjwBRi4y66TmhJrDlhQABD7zI2fm3p6/QLMo8="


def test_query_hmac_matches_the_official_vectors() -> None:
    assert p.query_hmac(OAUTH_PARAMS, "hush") == OAUTH_HMAC
    assert p.query_hmac({**OAUTH_PARAMS, "state": "0.6784241404160823"}, "hush") == OAUTH_HMAC_WITH_STATE
    # hmac and signature never take part
    assert p.query_hmac({**OAUTH_PARAMS, "hmac": "x", "signature": "y"}, "hush") == OAUTH_HMAC


def test_query_hmac_arrays_and_escaping() -> None:
    params = {"ids[]": ["1", "2"], "shop": "a&b.myshopify.com", "x=y": "100%"}
    assert p.query_hmac(params, "hush") == "21849ebecd2930516088dcc31d1381c60b9bd5b557e894936e3a76ee832ec485"


def test_callback_verification() -> None:
    good = {**OAUTH_PARAMS, "hmac": OAUTH_HMAC}
    now = 1337178173 + 60
    assert p.callback_problem(good, ["hush"], now=now) is None
    assert p.callback_problem(good, ["old", "hush"], now=now) is None  # rotation: previous secret
    assert "hmac" in p.callback_problem({**good, "hmac": "0" * 64}, ["hush"], now=now)
    assert "hmac" in p.callback_problem({**good, "code": "other"}, ["hush"], now=now)
    assert "hmac" in p.callback_problem(good, ["wrong"], now=now)
    assert "24 hours" in p.callback_problem(good, ["hush"], now=1337178173 + 25 * 3600)
    assert "connection's shop" in p.callback_problem(
        good, ["hush"], expected_shop="other.myshopify.com", now=now
    )
    bad_shop = {**OAUTH_PARAMS, "shop": "evil.example.com"}
    bad_shop["hmac"] = p.query_hmac(bad_shop, "hush")
    assert "myshopify" in p.callback_problem(bad_shop, ["hush"], now=now)


def test_webhook_hmac_on_raw_bytes() -> None:
    assert p.webhook_hmac(WEBHOOK_BODY, "hush") == WEBHOOK_HMAC
    assert p.verify_webhook(WEBHOOK_BODY, WEBHOOK_HMAC, ["hush"])
    assert p.verify_webhook(WEBHOOK_BODY, WEBHOOK_HMAC, ["rotated", "hush"])
    # re-serialised JSON is different bytes: the signature no longer matches
    reserialised = json.dumps(json.loads(WEBHOOK_BODY)).encode()
    assert not p.verify_webhook(reserialised, WEBHOOK_HMAC, ["hush"])
    assert not p.verify_webhook(WEBHOOK_BODY, "", ["hush"])
    assert not p.verify_webhook(WEBHOOK_BODY, WEBHOOK_HMAC, ["", "nope"])


@pytest.mark.parametrize(
    ("financial", "fulfillment", "cancelled", "expected"),
    [
        ("paid", None, False, p.UnifiedStatus.PAID),
        ("PAID", "UNFULFILLED", False, p.UnifiedStatus.PAID),
        ("pending", None, False, p.UnifiedStatus.PENDING),
        ("AUTHORIZED", "UNFULFILLED", False, p.UnifiedStatus.PENDING),
        ("partially_paid", None, False, p.UnifiedStatus.PENDING),
        ("paid", "partial", False, p.UnifiedStatus.PARTIALLY_SHIPPED),
        ("PAID", "PARTIALLY_FULFILLED", False, p.UnifiedStatus.PARTIALLY_SHIPPED),
        ("paid", "fulfilled", False, p.UnifiedStatus.SHIPPED),
        ("partially_refunded", None, False, p.UnifiedStatus.PAID),
        ("refunded", "fulfilled", False, p.UnifiedStatus.REFUNDED),
        ("voided", None, False, p.UnifiedStatus.CANCELLED),
        ("paid", None, True, p.UnifiedStatus.CANCELLED),
        ("refunded", None, True, p.UnifiedStatus.CANCELLED),
    ],
)
def test_status_mapping(financial: str, fulfillment: str | None, cancelled: bool, expected: int) -> None:
    assert p.map_order_status(financial, fulfillment, cancelled) == expected


def test_order_from_graphql() -> None:
    node = {
        "id": "gid://shopify/Order/1001",
        "legacyResourceId": "1001",
        "name": "#1001",
        "email": "a@example.com",
        "createdAt": "2025-07-01T10:00:00Z",
        "updatedAt": "2025-07-01T11:00:00Z",
        "cancelledAt": None,
        "displayFinancialStatus": "PAID",
        "displayFulfillmentStatus": "UNFULFILLED",
        "totalPriceSet": {"shopMoney": {"amount": "39.9", "currencyCode": "USD"}},
        "lineItems": {
            "nodes": [
                {
                    "id": "gid://shopify/LineItem/5",
                    "sku": "SKU-1",
                    "title": "Mug",
                    "quantity": 2,
                    "originalUnitPriceSet": {"shopMoney": {"amount": "19.95", "currencyCode": "USD"}},
                }
            ]
        },
    }
    order = p.order_from_graphql(node)
    assert (order.external_id, order.external_name, order.status) == ("1001", "#1001", p.UnifiedStatus.PAID)
    assert order.raw_status == "paid/unfulfilled"
    assert order.total == p.Amount(3990, "USD")
    assert len(order.lines) == 1
    line = order.lines[0]
    assert (line.external_line_id, line.sku, line.quantity) == ("5", "SKU-1", 2)
    assert line.unit_price.amount_minor == 1995
    assert order.updated_at == datetime(2025, 7, 1, 11, tzinfo=UTC)


def test_order_from_rest_webhook_payload_uses_the_same_ids() -> None:
    payload = {
        "id": 1001,
        "admin_graphql_api_id": "gid://shopify/Order/1001",
        "name": "#1001",
        "email": "a@example.com",
        "created_at": "2025-07-01T12:00:00+02:00",
        "updated_at": "2025-07-01T12:30:00+02:00",
        "cancelled_at": None,
        "currency": "JPY",
        "total_price": "1500",
        "financial_status": "paid",
        "fulfillment_status": "partial",
        "line_items": [{"id": 5, "sku": "SKU-1", "title": "Mug", "quantity": 3, "price": "500"}],
    }
    order = p.order_from_rest(payload)
    assert order.external_id == "1001"
    assert order.status == p.UnifiedStatus.PARTIALLY_SHIPPED
    assert order.total == p.Amount(1500, "JPY")
    assert order.lines[0].external_line_id == "5"
    assert order.created_at == datetime(2025, 7, 1, 10, tzinfo=UTC)


def test_money_rounds_half_even_and_rejects_unknown_currency() -> None:
    assert p.money("10.005", "USD").amount_minor == 1000
    assert p.money("10.015", "USD").amount_minor == 1002
    assert p.money("12", "KWD").amount_minor == 12000
    assert p.money("1", "XXX") is None
    assert p.money(None, "USD") is None


def test_user_errors_map_to_items() -> None:
    errors = [
        {
            "code": "INVALID_INVENTORY_ITEM",
            "field": ["input", "quantities", "1", "inventoryItemId"],
            "message": "x",
        },
    ]
    outcomes = p.item_outcomes(3, errors, container="quantities", applied=False)
    assert [o for o, _ in outcomes] == [
        p.Outcome.RETRY,
        p.Outcome.REJECTED,
        p.Outcome.RETRY,
    ]
    # The code (a fixed vocabulary) is kept; Shopify's free text ("x") is not passed on.
    assert outcomes[1][1] == "rejected by Shopify (INVALID_INVENTORY_ITEM)"
    assert [o for o, _ in p.item_outcomes(2, [], container="quantities", applied=True)] == [
        p.Outcome.APPLIED
    ] * 2
    general = p.item_outcomes(2, [{"field": None, "message": "bad"}], container="quantities", applied=False)
    assert [o for o, _ in general] == [p.Outcome.REJECTED] * 2


def test_inventory_set_input_is_absolute_available_without_compare() -> None:
    variables = p.inventory_set_input(
        [("gid://shopify/InventoryItem/1", "gid://shopify/Location/9", 7)],
        reference="gid://omnistock/Connection/c",
    )
    body = variables["input"]
    assert body["name"] == "available"
    assert body["ignoreCompareQuantity"] is True
    assert body["quantities"] == [
        {
            "inventoryItemId": "gid://shopify/InventoryItem/1",
            "locationId": "gid://shopify/Location/9",
            "quantity": 7,
        }
    ]


def test_throttle_wait_from_cost_extension() -> None:
    throttled = {
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
        "extensions": {
            "cost": {
                "requestedQueryCost": 110,
                "throttleStatus": {"maximumAvailable": 1000, "currentlyAvailable": 10, "restoreRate": 50},
            }
        },
    }
    assert p.throttle_wait(throttled) == pytest.approx(2.0)
    assert p.throttle_wait({"data": {}, "extensions": {"cost": {}}}) is None
    assert p.throttle_wait({"errors": [{"extensions": {"code": "THROTTLED"}}]}) == 1.0


def test_ids_and_search() -> None:
    assert p.gid("InventoryItem", "42") == "gid://shopify/InventoryItem/42"
    assert p.gid("InventoryItem", "gid://shopify/InventoryItem/42") == "gid://shopify/InventoryItem/42"
    assert p.numeric_id("gid://shopify/Order/7") == "7"
    assert p.orders_search(datetime(2025, 7, 1, 8, 30, tzinfo=UTC)) == "updated_at:>='2025-07-01T08:30:00Z'"
    assert p.orders_search(None) is None


def test_token_response_and_invalid_grant() -> None:
    grant = p.parse_token_response(
        {
            "access_token": "shpat",
            "scope": "read_orders, write_inventory",
            "expires_in": 3600,
            "refresh_token": "r",
        }
    )
    assert grant.scopes == ("read_orders", "write_inventory")
    assert grant.expires_in == 3600.0
    with pytest.raises(ValueError):
        p.parse_token_response({"error": "invalid_grant"})
    assert p.is_invalid_grant(400, {"error": "invalid_grant"})
    assert not p.is_invalid_grant(400, {"error": "temporarily_unavailable"})
    assert p.is_invalid_grant(401, None)


SHOP = "victim.myshopify.com"
NOW = 1_800_000_000.0


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def _order(**extra: object) -> dict[str, object]:
    return {
        "id": 450789469,
        "updated_at": _iso(NOW - 60),
        "line_items": [{"id": 1, "sku": "TEE", "quantity": 2}],
        **extra,
    }


def _delivery(payload: object, *, topic: str = "orders/create", secret: str = "hush", **headers: str):
    body = json.dumps(payload).encode()
    sent = {
        "x-shopify-hmac-sha256": p.webhook_hmac(body, secret),
        "x-shopify-topic": topic,
        "x-shopify-shop-domain": SHOP,
        "x-shopify-webhook-id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "x-shopify-triggered-at": _iso(NOW - 30),
    }
    sent.update({k.replace("_", "-"): v for k, v in headers.items()})
    return {k: v for k, v in sent.items() if v != ""}, body


def _problem(headers: dict[str, str], body: bytes, **kw: object) -> str | None:
    return p.webhook_problem(headers, body, secrets=["hush"], expected_shop=SHOP, now=NOW, **kw)


def test_a_genuine_delivery_passes() -> None:
    assert _problem(*_delivery(_order())) is None
    assert _problem(*_delivery({"id": 7}, topic="orders/delete")) is None
    shop_object = {"id": 1, "domain": "shop.example", "myshopify_domain": SHOP}
    assert _problem(*_delivery(shop_object, topic="app/uninstalled")) is None
    level = {"inventory_item_id": 5, "location_id": 6, "available": 3}
    assert _problem(*_delivery(level, topic="inventory_levels/update")) is None
    # Shopify's nanosecond timestamps parse.
    nanos = datetime.fromtimestamp(NOW - 30, UTC).strftime("%Y-%m-%dT%H:%M:%S.123456789Z")
    assert _problem(*_delivery(_order(), x_shopify_triggered_at=nanos)) is None
    assert "not a time" in _problem(*_delivery(_order(), x_shopify_triggered_at="yesterday"))


def test_an_accepted_delivery_reads_as_its_id_topic_kind_and_order() -> None:
    headers, body = _delivery(_order(financial_status="paid"), topic="ORDERS/updated")
    parsed = p.parsed_webhook(headers, body)
    assert (parsed.delivery_id, parsed.topic, parsed.kind) == (
        "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "orders/updated",
        p.WebhookKind.ORDER,
    )
    assert [(o.external_id, o.status) for o in parsed.orders] == [("450789469", p.UnifiedStatus.PAID)]
    # A deleted order releases its stock like a cancelled one.
    (deleted,) = p.parsed_webhook(*_delivery(_order(financial_status="paid"), topic="orders/delete")).orders
    assert (deleted.status, deleted.raw_status) == (p.UnifiedStatus.CANCELLED, "deleted")
    # Other kinds carry no order; the event id stands in for a missing webhook id.
    level = {"inventory_item_id": 5, "location_id": 6, "available": 3}
    headers, body = _delivery(
        level, topic="inventory_levels/update", x_shopify_webhook_id="", x_shopify_event_id="e1"
    )
    assert p.parsed_webhook(headers, body) == p.ParsedWebhook(
        "e1", "inventory_levels/update", p.WebhookKind.INVENTORY
    )


def test_the_shop_header_is_required_and_must_be_the_connections() -> None:
    assert "myshopify" in _problem(*_delivery(_order(), x_shopify_shop_domain=""))
    assert "another shop" in _problem(*_delivery(_order(), x_shopify_shop_domain="attacker.myshopify.com"))
    headers, body = _delivery(_order())
    assert "another shop" in p.webhook_problem(headers, body, secrets=["hush"], expected_shop="", now=NOW)


def test_the_topic_must_be_subscribed_and_match_the_body() -> None:
    assert "subscribed" in _problem(*_delivery(_order(), topic="customers/create"))
    assert "subscribed" in _problem(*_delivery(_order()), topics=p.subscribed_topics("app/uninstalled"))
    # A genuine order body relabelled as app/uninstalled: not a shop object of this shop.
    assert "shop in the body" in _problem(*_delivery(_order(), topic="app/uninstalled"))
    # The attacker's own shop object, relabelled for the victim: its domain gives it away.
    attacker_shop = {"id": 2, "domain": "a.example", "myshopify_domain": "attacker.myshopify.com"}
    assert "shop in the body" in _problem(*_delivery(attacker_shop, topic="app/uninstalled"))
    assert "line_items" in _problem(*_delivery({"id": 1, "updated_at": _iso(NOW)}))
    assert "line_items" in _problem(*_delivery(_order(line_items=[{"sku": "X", "quantity": "lots"}])))
    assert "order id" in _problem(*_delivery(_order(id=0)))
    assert "product" in _problem(*_delivery({"id": 3}, topic="products/update"))
    assert "inventory level" in _problem(*_delivery({"id": 3}, topic="inventory_levels/update"))
    assert "not a JSON object" in _problem(*_delivery([1, 2]))


def test_stale_deliveries_are_refused() -> None:
    old = _iso(NOW - p.WEBHOOK_MAX_AGE_SECONDS - 60)
    assert "Triggered-At is older" in _problem(*_delivery(_order(), x_shopify_triggered_at=old))
    assert "future" in _problem(*_delivery(_order(), x_shopify_triggered_at=_iso(NOW + 3600)))
    # Triggered-At is unsigned: a fresh header on an old order body is still stale.
    assert "updated_at is older" in _problem(*_delivery(_order(updated_at=old)))
    assert "updated_at is missing" in _problem(*_delivery(_order(updated_at=None)))
    # Inside the window (a retry three hours later) is fine.
    three_hours = _iso(NOW - 3 * 3600)
    assert _problem(*_delivery(_order(updated_at=three_hours), x_shopify_triggered_at=three_hours)) is None


def test_signature_and_delivery_id_are_still_required() -> None:
    assert "signature" in _problem(*_delivery(_order(), secret="attacker"))
    assert "Webhook-Id" in _problem(*_delivery(_order(), x_shopify_webhook_id=""))


def test_webhook_kinds() -> None:
    assert p.webhook_kind("orders/create") == p.WebhookKind.ORDER
    assert p.webhook_kind("inventory_levels/update") == p.WebhookKind.INVENTORY
    assert p.webhook_kind("products/update") == p.WebhookKind.PRODUCT
    assert p.webhook_kind("app/uninstalled") == p.WebhookKind.APP_UNINSTALLED
    assert p.webhook_kind("shop/redact") == p.WebhookKind.OTHER


def test_authorization_url() -> None:
    url = p.authorization_url(
        "http://127.0.0.1:8701/",
        client_id="cid",
        scopes="read_orders",
        redirect_uri="http://x/cb",
        state="s1",
    )
    assert url == (
        "http://127.0.0.1:8701/admin/oauth/authorize?client_id=cid&scope=read_orders"
        "&redirect_uri=http%3A%2F%2Fx%2Fcb&state=s1"
    )


def test_currently_available_reads_the_throttle_status() -> None:
    from shopify_connector import protocol

    body = {"data": {}, "extensions": {"cost": {"throttleStatus": {"currentlyAvailable": 842.5}}}}
    assert protocol.currently_available(body) == 842.5
    assert protocol.currently_available({"data": {}}) is None
    assert protocol.currently_available([1, 2]) is None


def _fulfillment_order(fo_id: str, *items: tuple[str, str, str, int]) -> dict[str, Any]:
    return {
        "id": fo_id,
        "lineItems": {
            "nodes": [
                {"id": item_id, "remainingQuantity": left, "lineItem": {"id": line_id, "sku": sku}}
                for item_id, line_id, sku, left in items
            ]
        },
    }


def test_fulfillment_allocation_spreads_lines_over_open_fulfillment_orders() -> None:
    orders = [
        _fulfillment_order("fo1", ("fi1", "gid://shopify/LineItem/11", "A", 1)),
        _fulfillment_order(
            "fo2", ("fi2", "gid://shopify/LineItem/11", "A", 2), ("fi3", "gid://shopify/LineItem/12", "B", 1)
        ),
    ]
    lines = [p.FulfillmentLineInput("11", "", 3), p.FulfillmentLineInput("", "B", 1)]
    assert p.fulfillment_allocation(orders, lines) == [
        {"fulfillmentOrderId": "fo1", "fulfillmentOrderLineItems": [{"id": "fi1", "quantity": 1}]},
        {
            "fulfillmentOrderId": "fo2",
            "fulfillmentOrderLineItems": [{"id": "fi2", "quantity": 2}, {"id": "fi3", "quantity": 1}],
        },
    ]
    assert p.fulfillment_allocation(orders, []) == [
        {"fulfillmentOrderId": "fo1"},
        {"fulfillmentOrderId": "fo2"},
    ]
    with pytest.raises(FailedPrecondition) as caught:
        p.fulfillment_allocation(orders, [p.FulfillmentLineInput("", "B", 2)])
    assert caught.value.reason == p.NOTHING_TO_FULFIL


def test_a_variant_node_becomes_a_remote_product_with_its_ids() -> None:
    node = {
        "id": "gid://shopify/ProductVariant/7",
        "sku": "SKU-7",
        "displayName": "Shirt - M",
        "inventoryQuantity": 4,
        "inventoryItem": {"id": "gid://shopify/InventoryItem/70"},
        "product": {"id": "gid://shopify/Product/1", "title": "Shirt"},
    }
    product = p.remote_product(node, "gid://shopify/Location/1")
    assert (product.sku, product.title, product.quantity) == ("SKU-7", "Shirt - M", 4)
    assert dict(product.ids) == {
        "product_id": "gid://shopify/Product/1",
        "variant_id": "gid://shopify/ProductVariant/7",
        "inventory_item_id": "gid://shopify/InventoryItem/70",
        "location_id": "gid://shopify/Location/1",
    }
    assert "location_id" not in p.remote_product(node, "").ids
