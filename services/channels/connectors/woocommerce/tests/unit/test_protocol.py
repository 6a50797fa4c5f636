"""Unit tests of the pure WooCommerce (wc/v3) protocol layer: no I/O."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest

from woocommerce_connector import protocol as p


def _ids(product: int | str, variation: int | str | None = None) -> dict[str, str]:
    ids = {"product_id": str(product)}
    if variation is not None:
        ids["variation_id"] = str(variation)
    return ids


# ---- targets ---------------------------------------------------------------------------------


def test_parse_target_simple_and_variation() -> None:
    assert p.parse_target(_ids(7)) == p.WooTarget(7)
    assert p.parse_target(_ids(7, 0)) == p.WooTarget(7)  # line items report variation_id 0
    assert p.parse_target(_ids(7, 9)) == p.WooTarget(7, 9)


@pytest.mark.parametrize(
    "ids", [{}, {"variation_id": "9"}, {"product_id": "abc"}, {"product_id": "-1"}, _ids(1, "x")]
)
def test_parse_target_rejects_unusable_ids(ids: dict[str, str]) -> None:
    with pytest.raises(p.ProtocolError):
        p.parse_target(ids)


# ---- inventory batches -----------------------------------------------------------------------


def test_250_simple_items_make_three_batches_of_at_most_100() -> None:
    plan = p.plan_inventory((f"SKU-{i}", i, _ids(1000 + i)) for i in range(250))
    assert plan.rejected == []
    assert [c.path for c in plan.calls] == ["products/batch"] * 3
    assert [len(c.updates) for c in plan.calls] == [100, 100, 50]
    first = plan.calls[0].body["update"][0]
    assert first == {"id": 1000, "manage_stock": True, "stock_quantity": 0}
    # Every SKU appears exactly once, in order.
    assert [s for c in plan.calls for s in c.skus] == [f"SKU-{i}" for i in range(250)]


def test_exactly_100_items_is_one_batch() -> None:
    plan = p.plan_inventory((f"S{i}", 1, _ids(i + 1)) for i in range(100))
    assert [len(c.updates) for c in plan.calls] == [100]


def test_variations_are_grouped_by_parent_and_chunked() -> None:
    items = [("SIMPLE", 3, _ids(1))]
    items += [(f"A-{i}", i, _ids(10, 100 + i)) for i in range(150)]
    items += [(f"B-{i}", i, _ids(20, 500 + i)) for i in range(2)]
    plan = p.plan_inventory(items)
    paths = [(c.path, len(c.updates)) for c in plan.calls]
    assert paths == [
        ("products/batch", 1),
        ("products/10/variations/batch", 100),
        ("products/10/variations/batch", 50),
        ("products/20/variations/batch", 2),
    ]
    # Variation updates carry the variation id, never the parent's.
    assert plan.calls[3].body == {
        "update": [
            {"id": 500, "manage_stock": True, "stock_quantity": 0},
            {"id": 501, "manage_stock": True, "stock_quantity": 1},
        ]
    }


def test_unmapped_items_are_rejected_and_negative_quantities_sent_as_zero() -> None:
    plan = p.plan_inventory([("NOIDS", 5, {}), ("OVERSOLD", -3, _ids(4))])
    assert [(r.sku, r.outcome) for r in plan.rejected] == [("NOIDS", p.Outcome.REJECTED)]
    assert "product_id" in plan.rejected[0].message
    assert plan.calls[0].body["update"] == [{"id": 4, "manage_stock": True, "stock_quantity": 0}]


def test_plan_batches_refuses_sizes_woo_would_refuse() -> None:
    with pytest.raises(ValueError):
        p.plan_batches([], batch_size=101)


def test_parse_batch_response_maps_item_errors() -> None:
    plan = p.plan_inventory([("A", 1, _ids(1)), ("B", 2, _ids(2)), ("C", 3, _ids(3)), ("D", 4, _ids(4))])
    payload = {
        "update": [
            {"id": 1, "stock_quantity": 1},
            {
                "id": 2,
                "error": {
                    "code": "woocommerce_rest_product_invalid_id",
                    "message": "Invalid ID.",
                    "data": {"status": 400},
                },
            },
            {"id": 3, "error": {"code": "internal", "message": "db gone", "data": {"status": 500}}},
            # D missing from the answer entirely.
        ]
    }
    results = p.parse_batch_response(plan.calls[0], payload)
    assert [(r.sku, r.outcome) for r in results] == [
        ("A", p.Outcome.APPLIED),
        ("B", p.Outcome.REJECTED),
        ("C", p.Outcome.RETRY),
        ("D", p.Outcome.RETRY),
    ]
    assert results[1].message == "woocommerce_rest_product_invalid_id: Invalid ID."


def test_parse_batch_response_matches_by_id_when_order_differs() -> None:
    plan = p.plan_inventory([("A", 1, _ids(1)), ("B", 2, _ids(2))])
    payload = {"update": [{"id": 2, "error": {"code": "bad", "data": {"status": 400}}}, {"id": 1}]}
    results = p.parse_batch_response(plan.calls[0], payload)
    assert [(r.sku, r.outcome) for r in results] == [("A", p.Outcome.APPLIED), ("B", p.Outcome.REJECTED)]


# ---- prices ----------------------------------------------------------------------------------


def _price(sku: str, minor: int, currency: str = "USD", compare: int | None = None) -> p.PriceInput:
    return p.PriceInput(sku, minor, currency, compare, currency if compare else "", _ids(1))


def test_price_fields_decimal_strings_from_minor_units() -> None:
    assert p.price_fields(_price("A", 1999), "USD") == {"regular_price": "19.99", "sale_price": ""}
    assert p.price_fields(_price("J", 1500, "JPY"), "") == {"regular_price": "1500", "sale_price": ""}
    # compare-at above price: regular = was-price, sale = selling price.
    assert p.price_fields(_price("S", 1500, compare=2000), "USD") == {
        "regular_price": "20.00",
        "sale_price": "15.00",
    }
    # compare-at not above the price means no sale.
    assert p.price_fields(_price("N", 1500, compare=1500), "USD")["sale_price"] == ""


def test_plan_prices_rejects_wrong_currency_and_missing_ids() -> None:
    plan = p.plan_prices(
        [_price("OK", 100), _price("EUR", 100, "EUR"), p.PriceInput("NOID", 100, "USD", None, "", {})],
        store_currency="USD",
    )
    assert [r.sku for r in plan.rejected] == ["EUR", "NOID"]
    assert "store currency USD" in plan.rejected[0].message
    assert plan.calls[0].body == {"update": [{"id": 1, "regular_price": "1.00", "sale_price": ""}]}


# ---- orders ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "unified"),
    [
        ("pending", p.UnifiedStatus.PENDING),
        ("processing", p.UnifiedStatus.PAID),
        ("on-hold", p.UnifiedStatus.PENDING),
        ("completed", p.UnifiedStatus.SHIPPED),
        ("cancelled", p.UnifiedStatus.CANCELLED),
        ("refunded", p.UnifiedStatus.REFUNDED),
        ("failed", p.UnifiedStatus.CANCELLED),
        ("trash", p.UnifiedStatus.CANCELLED),
        ("checkout-draft", p.UnifiedStatus.PENDING),
        ("wc-processing", p.UnifiedStatus.PAID),
        ("some-plugin-status", p.UnifiedStatus.UNSPECIFIED),
    ],
)
def test_status_mapping(raw: str, unified: p.UnifiedStatus) -> None:
    assert p.map_order_status(raw) is unified


ORDER = {
    "id": 727,
    "number": "727",
    "status": "processing",
    "currency": "USD",
    "total": "29.35",
    "date_created": "2024-03-01T12:00:00",
    "date_created_gmt": "2024-03-01T10:00:00",
    "date_modified_gmt": "2024-03-02T10:00:05",
    "billing": {"email": "ann@example.com"},
    "line_items": [
        {
            "id": 315,
            "product_id": 93,
            "variation_id": 0,
            "sku": "TEE",
            "quantity": 2,
            "price": 10.5,
            "name": "Tee",
        },
        {"id": 316, "product_id": 22, "variation_id": 23, "sku": "CAP-R", "quantity": 1, "price": 8.333333},
        {"id": 317, "sku": "", "quantity": 3, "subtotal": "3.00", "name": "Sticker"},
    ],
}


def test_parse_order() -> None:
    order = p.parse_order(ORDER)
    assert order.external_id == "727"
    assert order.external_name == "#727"
    assert order.status is p.UnifiedStatus.PAID and order.raw_status == "processing"
    assert order.customer_email == "ann@example.com"
    assert order.total == p.Amount(2935, "USD")
    assert order.created_at == datetime(2024, 3, 1, 10, 0, tzinfo=UTC)  # the GMT field, not local
    assert order.updated_at == datetime(2024, 3, 2, 10, 0, 5, tzinfo=UTC)
    assert [(line.external_line_id, line.sku, line.quantity) for line in order.lines] == [
        ("315", "TEE", 2),
        ("316", "CAP-R", 1),
        ("317", "", 3),
    ]
    assert order.lines[0].unit_price == p.Amount(1050, "USD")
    assert order.lines[1].unit_price == p.Amount(833, "USD")  # float price rounded to cents
    assert order.lines[2].unit_price == p.Amount(100, "USD")  # from subtotal / quantity


def test_parse_order_with_unknown_currency_keeps_the_order_without_prices() -> None:
    order = p.parse_order({**ORDER, "currency": "XYZ"})
    assert order.total is None and order.lines[0].unit_price is None
    assert order.external_id == "727" and len(order.lines) == 3


def test_orders_query_and_cursor_round_trip() -> None:
    since = datetime(2024, 1, 1, 6, 30, tzinfo=UTC)
    cursor = p.OrdersCursor(since, 3, 50)
    assert p.decode_orders_cursor(p.encode_orders_cursor(cursor)) == cursor
    assert p.orders_query(cursor) == {
        "modified_after": "2024-01-01T06:30:00",
        "dates_are_gmt": "true",
        "orderby": "modified",
        "order": "asc",
        "per_page": "50",
        "page": "3",
    }


@pytest.mark.parametrize("bad", ["", "!!!", base64.urlsafe_b64encode(b'{"v":1,"page":0}').decode()])
def test_decode_orders_cursor_rejects_foreign_cursors(bad: str) -> None:
    with pytest.raises(p.ProtocolError):
        p.decode_orders_cursor(bad)


def _order_at(ts: datetime) -> p.OrderData:
    return p.parse_order({**ORDER, "date_modified_gmt": p.format_woo_datetime(ts)})


def test_next_orders_cursor_restarts_before_newest_modification() -> None:
    since = datetime(2024, 1, 1, tzinfo=UTC)
    page = [_order_at(since + timedelta(minutes=m)) for m in (1, 2, 5)]
    nxt = p.next_orders_cursor(p.OrdersCursor(since, 1, 3), pages=4, orders=page)
    assert nxt == p.OrdersCursor(since + timedelta(minutes=5, seconds=-1), 1, 3)


def test_next_orders_cursor_falls_back_to_page_numbers_within_one_second() -> None:
    since = datetime(2024, 1, 1, tzinfo=UTC)
    page = [_order_at(since + timedelta(seconds=1))] * 3
    nxt = p.next_orders_cursor(p.OrdersCursor(since, 2, 3), pages=4, orders=page)
    assert nxt == p.OrdersCursor(since, 3, 3)


def test_next_orders_cursor_ends_on_last_page() -> None:
    since = datetime(2024, 1, 1, tzinfo=UTC)
    assert p.next_orders_cursor(p.OrdersCursor(since, 4, 3), pages=4, orders=[_order_at(since)]) is None
    assert p.next_orders_cursor(p.OrdersCursor(since, 1, 3), pages=0, orders=[]) is None


def test_total_pages_header() -> None:
    assert p.total_pages({"x-wp-totalpages": "7"}) == 7
    assert p.total_pages({}) == 0
    assert p.total_pages({"x-wp-totalpages": "lots"}) == 0


def test_page_size_clamps_to_woo_range() -> None:
    assert [p.page_size(n) for n in (0, -5, 1, 100, 500)] == [100, 100, 1, 100, 100]


# ---- read-back and catalogue -----------------------------------------------------------------


def test_group_for_read() -> None:
    simple, variations, unmapped = p.group_for_read(
        [("A", _ids(1)), ("B", _ids(2, 20)), ("C", _ids(2, 21)), ("D", {})]
    )
    assert simple == {1: ["A"]}
    assert variations == {2: {20: ["B"], 21: ["C"]}}
    assert unmapped == ["D"]


def test_id_chunks_dedupes_and_splits() -> None:
    chunks = list(p.id_chunks([*range(1, 151), 5], size=100))
    assert [len(c) for c in chunks] == [100, 50]


def test_remote_products() -> None:
    parent = {"id": 10, "name": "Tee", "type": "variable", "variations": [11]}
    variation = {"id": 11, "sku": "TEE-R", "stock_quantity": 4, "attributes": [{"option": "Red"}]}
    assert p.is_variable(parent) and not p.is_variable({"id": 1, "type": "simple", "variations": []})
    got = p.variation_remote_product(parent, variation)
    assert got == p.RemoteProductData("TEE-R", "Tee - Red", {"product_id": "10", "variation_id": "11"}, 4)
    simple = p.simple_remote_product({"id": 3, "sku": "MUG", "name": "Mug", "stock_quantity": None})
    assert simple == p.RemoteProductData("MUG", "Mug", {"product_id": "3"}, 0)


# ---- fulfillment -----------------------------------------------------------------------------


def test_fulfillment_note_names_carrier_and_tracking() -> None:
    note = p.fulfillment_note("UPS", "1Z999", "https://track.example/1Z999")
    assert note == "Shipped via UPS. Tracking number: 1Z999. Track it at https://track.example/1Z999"


def test_covers_whole_order() -> None:
    assert p.covers_whole_order(ORDER, {"id:315": 2, "id:316": 1, "id:317": 3})
    assert p.covers_whole_order(ORDER, {"sku:TEE": 2, "sku:CAP-R": 1, "id:317": 3})
    assert not p.covers_whole_order(ORDER, {"id:315": 2, "id:316": 1})
    assert not p.covers_whole_order(ORDER, {"id:315": 1, "id:316": 1, "id:317": 3})


# ---- webhooks --------------------------------------------------------------------------------

SECRET = "whsec-test-0123"


def _independent_signature(secret: str, body: bytes) -> str:
    """Computed here without protocol.sign, so a bug there cannot hide in both places."""
    digest = hmac.new(secret.encode("utf-8"), msg=body, digestmod=hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def test_known_signature_vector() -> None:
    # Fixed vector: base64(HMAC-SHA256("secret", "hello")) computed independently.
    assert p.sign("secret", b"hello") == "iKqz7ejTrflNJquQ07r9SiCDBww7zOnAFO4EpEOEfAs="
    assert p.verify_signature("secret", b"hello", "iKqz7ejTrflNJquQ07r9SiCDBww7zOnAFO4EpEOEfAs=")


STORE = "https://shop.example/"


def _headers(body: bytes, *, secret: str = SECRET, topic: str = "order.updated") -> dict[str, str]:
    resource, _, event = topic.partition(".")
    return {
        "x-wc-webhook-signature": _independent_signature(secret, body),
        "x-wc-webhook-topic": topic,
        "x-wc-webhook-resource": resource,
        "x-wc-webhook-event": event,
        "x-wc-webhook-source": STORE,
        "x-wc-webhook-delivery-id": "a1b2c3d4e5",
        "x-wc-webhook-id": "12",
    }


def _parse(headers: dict[str, str], body: bytes, secret: str, **kw: object) -> p.WebhookData:
    return p.parse_webhook(headers, body, secret, **{"store_url": "https://shop.example", **kw})  # type: ignore[arg-type]


def test_signed_order_webhook_is_parsed() -> None:
    body = json.dumps(ORDER).encode()
    parsed = _parse(_headers(body), body, SECRET)
    assert parsed.kind is p.WebhookKind.ORDER
    assert parsed.delivery_id == "a1b2c3d4e5"
    assert parsed.topic == "order.updated"
    assert [o.external_id for o in parsed.orders] == ["727"]


def test_signature_over_raw_bytes_not_reserialised_json() -> None:
    body = b'{ "id": 727,  "status": "processing", "line_items": [] }'  # odd spacing: raw bytes only
    assert _parse(_headers(body), body, SECRET).orders[0].external_id == "727"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h, b: ({**h, "x-wc-webhook-signature": _independent_signature("other-secret", b)}, b),
        lambda h, b: (h, b + b" "),
        lambda h, b: ({k: v for k, v in h.items() if k != "x-wc-webhook-signature"}, b),
        lambda h, b: ({**h, "x-wc-webhook-signature": "not base64 at all"}, b),
    ],
)
def test_bad_or_missing_signature_is_refused(tamper) -> None:  # type: ignore[no-untyped-def]
    body = json.dumps(ORDER).encode()
    headers, sent = tamper(_headers(body), body)
    with pytest.raises(p.SignatureError):
        _parse(headers, sent, SECRET)


def test_empty_secret_never_verifies() -> None:
    body = b"{}"
    with pytest.raises(p.SignatureError):
        _parse(_headers(body, secret=""), body, "")


def test_entity_encoded_secret_is_also_tried_decoded() -> None:
    body = b'{"id": 1}'
    headers = _headers(body, secret="a&b", topic="product.updated")
    assert _parse(headers, body, "a&amp;b").kind is p.WebhookKind.PRODUCT


def test_unsigned_creation_ping_is_accepted() -> None:
    parsed = _parse({}, b"webhook_id=42", SECRET)
    assert parsed.kind is p.WebhookKind.PING
    assert parsed.delivery_id == "ping:42"
    assert parsed.orders == ()


@pytest.mark.parametrize("body", [b"webhook_id=42&status=processing", b"webhook_id=x", b'{"webhook_id": 42}'])
def test_unsigned_non_ping_is_refused(body: bytes) -> None:
    with pytest.raises(p.SignatureError):
        _parse({}, body, SECRET)


def test_deleted_order_webhook_is_cancelled() -> None:
    body = b'{"id": 99}'
    parsed = _parse(_headers(body, topic="order.deleted"), body, SECRET)
    assert parsed.orders[0].external_id == "99"
    assert parsed.orders[0].status is p.UnifiedStatus.CANCELLED
    assert parsed.orders[0].raw_status == "deleted"


def test_webhook_without_delivery_id_dedupes_on_body_digest() -> None:
    body = b'{"id": 5}'
    headers = {
        k: v for k, v in _headers(body, topic="product.created").items() if k != "x-wc-webhook-delivery-id"
    }
    first = _parse(headers, body, SECRET)
    assert first.delivery_id == _parse(headers, body, SECRET).delivery_id
    assert first.delivery_id.startswith("sha256:")


@pytest.mark.parametrize(
    ("topic", "kind"),
    [
        ("order.created", p.WebhookKind.ORDER),
        ("product.deleted", p.WebhookKind.PRODUCT),
        ("action.woocommerce_product_set_stock", p.WebhookKind.INVENTORY),
        ("customer.created", p.WebhookKind.OTHER),
    ],
)
def test_webhook_kind(topic: str, kind: p.WebhookKind) -> None:
    assert p.webhook_kind(topic) is kind


# ---- who may send: store, topic, shape ---------------------------------------------------------


def test_source_must_be_the_connections_store() -> None:
    body = json.dumps(ORDER).encode()
    for source in ("https://attacker.example/", "", "https://shop.example.evil/", "https://shop.example/x/"):
        with pytest.raises(p.WebhookRefused, match="Source"):
            _parse({**_headers(body), "x-wc-webhook-source": source}, body, SECRET)
    # A connection without any store URL cannot check it, so nothing is accepted.
    with pytest.raises(p.WebhookRefused, match="Source"):
        _parse(_headers(body), body, SECRET, store_url="")
    # The same store written differently still matches: scheme, case, default port, trailing slash.
    for source in ("http://SHOP.example", "https://shop.example:443/"):
        assert _parse({**_headers(body), "x-wc-webhook-source": source}, body, SECRET).orders


def test_store_url_comes_from_the_settings() -> None:
    assert p.store_url_of({"store_url": "https://a.example"}) == "https://a.example"
    assert (
        p.store_url_of({"api_base_url": "https://a.example/shop/wp-json/wc/v3/"}) == "https://a.example/shop"
    )
    assert p.same_store(
        "https://a.example/shop/", p.store_url_of({"api_base_url": "https://a.example/shop/wp-json/wc/v3"})
    )
    assert not p.same_store("https://a.example:8443/", "https://a.example")


def test_topic_must_be_subscribed_and_agree_with_resource_and_event() -> None:
    body = json.dumps(ORDER).encode()
    with pytest.raises(p.WebhookRefused, match="subscribed"):
        _parse(_headers(body, topic="customer.created"), body, SECRET)
    with pytest.raises(p.WebhookRefused, match="subscribed"):
        _parse(_headers(body), body, SECRET, topics=p.subscribed_topics("product.updated"))
    with pytest.raises(p.WebhookRefused, match="Resource/Event"):
        _parse({**_headers(body), "x-wc-webhook-resource": "product"}, body, SECRET)
    with pytest.raises(p.WebhookRefused, match="Resource/Event"):
        _parse({k: v for k, v in _headers(body).items() if k != "x-wc-webhook-event"}, body, SECRET)


@pytest.mark.parametrize(
    ("topic", "payload", "match"),
    [
        ("order.created", {"id": 5}, "line_items"),
        ("order.updated", {"id": 5, "line_items": [{"sku": "A", "quantity": "2"}]}, "line_items"),
        ("order.created", {"name": "no id", "line_items": []}, "order id"),
        ("product.updated", {"id": "abc"}, "product id"),
        (
            "action.woocommerce_product_set_stock",
            {"action": "woocommerce_variation_set_stock", "arg": 1},
            "action",
        ),
        ("order.created", [1, 2], "JSON object"),
    ],
)
def test_body_must_have_the_topics_shape(topic: str, payload: object, match: str) -> None:
    body = json.dumps(payload).encode()
    with pytest.raises(p.WebhookRefused, match=match):
        _parse(_headers(body, topic=topic), body, SECRET)


def test_non_json_signed_body_is_refused() -> None:
    body = b"not json"
    with pytest.raises(p.WebhookRefused, match="JSON"):
        _parse(_headers(body), body, SECRET)
