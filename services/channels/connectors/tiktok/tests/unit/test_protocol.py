"""The pure TikTok protocol: signing, tokens, shop choice, pushes, orders, webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from tiktok_connector import protocol as p


def test_sign_follows_the_documented_recipe() -> None:
    query = {
        "timestamp": "1700000000",
        "app_key": "key",
        "shop_cipher": "GCP_x",
        "sign": "old",
        "access_token": "t",
    }
    body = b'{"skus":[{"id":"1"}]}'
    text = (
        "/product/202309/products/1/inventory/updateapp_keykeyshop_cipherGCP_xtimestamp1700000000"
        + body.decode()
    )
    expected = hmac.new(b"secret", f"secret{text}secret".encode(), hashlib.sha256).hexdigest()
    assert p.sign("/product/202309/products/1/inventory/update", query, body, "secret") == expected
    assert p.sign("/product/202309/products/1/inventory/update", query, b"", "secret") != expected


def test_webhook_signature_is_hmac_of_app_key_and_raw_body() -> None:
    raw = b'{"type":1}'
    signature = hmac.new(b"secret", b"key" + raw, hashlib.sha256).hexdigest()
    assert p.webhook_signature("key", "secret", raw) == signature
    assert p.webhook_signature_valid(
        signature.upper(), app_key="key", app_secrets=("old", "secret"), raw_body=raw
    )
    assert not p.webhook_signature_valid(
        signature, app_key="key", app_secrets=("secret",), raw_body=raw + b" "
    )


@pytest.mark.parametrize(
    ("value", "left"), [(1_700_000_600, 600.0), (86_400, 86_400.0), ("3600", 3600.0), (None, None), (0, None)]
)
def test_expire_in_is_an_epoch_time_above_1e9_else_a_duration(value: object, left: float | None) -> None:
    assert p.seconds_left(value, now=1_700_000_000) == left


def test_token_data_becomes_a_grant_and_needs_an_access_token() -> None:
    grant = p.grant_from_token_data(
        {
            "access_token": "a",
            "refresh_token": "r",
            "access_token_expire_in": 1_700_000_100,
            "granted_scopes": ["x"],
        },
        now=1_700_000_000,
    )
    assert (grant.access_token, grant.refresh_token, grant.expires_in, grant.scopes) == (
        "a",
        "r",
        100.0,
        ("x",),
    )
    with pytest.raises(ValueError, match="access_token"):
        p.grant_from_token_data({"refresh_token": "r"}, now=0)


def test_shop_choice() -> None:
    shops = p.shops_from_data(
        {
            "shops": [
                {"id": "1", "name": "One", "cipher": "c1", "region": "US"},
                {"id": "2", "name": "Two", "cipher": "c2"},
                {"id": "x y"},
            ]
        }
    )
    assert [s.id for s in shops] == ["1", "2"]
    assert p.pick_shop(shops, "2") == shops[1]
    assert "1 (One)" in str(p.pick_shop(shops, ""))
    assert "does not cover shop 3" in str(p.pick_shop(shops, "3"))
    assert p.pick_shop(shops[:1], "") == shops[0]
    assert shops[0].settings("USD") == {
        "store_id": "1",
        "store_name": "One",
        "shop_cipher": "c1",
        "region": "US",
        "currency": "USD",
    }


def test_inventory_groups_by_product_and_clamps_quantities() -> None:
    items = [
        p.InventoryInput("A", -3, {"product_id": "10", "sku_id": "1"}),
        p.InventoryInput("B", 500_000, {"product_id": "10", "sku_id": "2", "warehouse_id": "7"}),
        p.InventoryInput("C", 1, {"product_id": "11", "sku_id": "3"}),
        p.InventoryInput("D", 1, {"sku_id": "4"}),
    ]
    refused, groups = p.group_inventory(items)
    assert refused == {3: p.NO_MAPPING}
    assert list(groups) == ["10", "11"]
    assert p.inventory_body(groups["10"]) == {
        "skus": [
            {"id": "1", "inventory": [{"quantity": 0}]},
            {"id": "2", "inventory": [{"warehouse_id": "7", "quantity": p.MAX_QUANTITY}]},
        ]
    }


def test_per_sku_errors_decide_each_outcome() -> None:
    data = {
        "errors": [
            {
                "code": 12052230,
                "message": "not live",
                "detail": {"sku_id": "1", "extra_errors": [{"message": "wh"}]},
            },
            {"code": 36009003, "message": "busy", "detail": {"sku_id": "2"}},
        ]
    }
    by_sku, general = p.sku_errors(data)
    assert p.outcome_of("1", by_sku, general) == (p.Outcome.REJECTED, "not live: wh")
    assert p.outcome_of("2", by_sku, general)[0] is p.Outcome.RETRY
    assert p.outcome_of("3", by_sku, general) == (p.Outcome.APPLIED, "")


def test_prices_are_decimal_strings_in_the_shop_currency() -> None:
    items = [
        p.PriceInput("A", p.Amount(1999, "USD"), ids={"product_id": "10", "sku_id": "1"}),
        p.PriceInput("B", p.Amount(1999, "EUR"), ids={"product_id": "10", "sku_id": "2"}),
        p.PriceInput("C", p.Amount(0, "USD"), ids={"product_id": "10", "sku_id": "3"}),
    ]
    refused, groups = p.group_prices(items, "USD")
    assert set(refused) == {1, 2}
    assert p.prices_body(groups["10"]) == {
        "skus": [{"id": "1", "price": {"amount": "19.99", "currency": "USD"}}]
    }


ORDER = {
    "id": "576",
    "status": "PARTIALLY_SHIPPING",
    "create_time": 1_700_000_000,
    "update_time": 1_700_000_100,
    "buyer_email": "b@example.test",
    "payment": {
        "currency": "USD",
        "sub_total": "12.00",
        "shipping_fee": "1.00",
        "tax": "0.50",
        "total_amount": "13.50",
    },
    "recipient_address": {
        "name": "Ann",
        "address_line1": "1 Main St",
        "postal_code": "94016",
        "region_code": "US",
        "district_info": [
            {"address_level_name": "State", "address_name": "CA"},
            {"address_level_name": "City", "address_name": "SF"},
        ],
    },
    "line_items": [
        {
            "id": "l1",
            "sku_id": "s1",
            "seller_sku": "A",
            "product_name": "Tee",
            "sale_price": "4.00",
            "display_status": "IN_TRANSIT",
        },
        {
            "id": "l2",
            "sku_id": "s1",
            "seller_sku": "A",
            "product_name": "Tee",
            "sale_price": "4.00",
            "display_status": "AWAITING_SHIPMENT",
        },
        {
            "id": "l3",
            "sku_id": "s2",
            "seller_sku": "B",
            "product_name": "Mug",
            "sale_price": "4.00",
            "display_status": "AWAITING_SHIPMENT",
        },
    ],
}


def test_order_units_are_counted_per_sku() -> None:
    order = p.order_from_json(ORDER)
    assert order.status is p.UnifiedStatus.PARTIALLY_SHIPPED and order.raw_status == "PARTIALLY_SHIPPING"
    assert [
        (line.external_line_id, line.sku, line.quantity, line.quantity_fulfilled) for line in order.lines
    ] == [
        ("s1", "A", 2, 1),
        ("s2", "B", 1, 0),
    ]
    assert order.lines[0].unit_price == p.Amount(400, "USD")
    assert (order.total, order.tax_total, order.shipping_total) == (
        p.Amount(1350, "USD"),
        p.Amount(50, "USD"),
        p.Amount(100, "USD"),
    )
    assert order.created_at == datetime.fromtimestamp(1_700_000_000, UTC)
    assert order.shipping_address.city == "SF" and order.shipping_address.region == "CA"
    assert json.loads(order.raw_json) == ORDER


@pytest.mark.parametrize(
    ("status", "unified"),
    [
        ("UNPAID", p.UnifiedStatus.PENDING),
        ("ON_HOLD", p.UnifiedStatus.PAID),
        ("AWAITING_SHIPMENT", p.UnifiedStatus.PAID),
        ("AWAITING_COLLECTION", p.UnifiedStatus.SHIPPED),
        ("IN_TRANSIT", p.UnifiedStatus.SHIPPED),
        ("COMPLETED", p.UnifiedStatus.DELIVERED),
        ("CANCELLED", p.UnifiedStatus.CANCELLED),
        ("SOMETHING_NEW", p.UnifiedStatus.PENDING),
    ],
)
def test_status_map(status: str, unified: p.UnifiedStatus) -> None:
    assert p.unified_status(status) is unified


def test_unit_line_ids_skip_shipped_units() -> None:
    assert p.unit_line_ids(ORDER, None) == ["l2", "l3"]
    assert p.unit_line_ids(ORDER, {"s1": 5}) == ["l2"]
    assert p.unit_line_ids(ORDER, {"B": 1}) == ["l3"]


def test_shipping_provider_choice() -> None:
    assert p.shipping_provider_id("7117", "", "") == "7117"
    assert p.shipping_provider_id("ups", "UPS=42, USPS=43", "") == "42"
    # A named carrier is looked up by name at TikTok, never replaced by the default.
    assert p.shipping_provider_id("DHL", "UPS=42", "99") == ""
    assert p.shipping_provider_id("", "UPS=42", "99") == "99"
    assert p.shipping_provider_id("DHL", "UPS=42", "") == ""


def test_orders_search_query_bounds_the_page() -> None:
    assert p.search_query(0, "")["page_size"] == "100"
    assert p.search_query(500, "tok") == {
        "page_size": "100",
        "sort_field": "update_time",
        "sort_order": "ASC",
        "page_token": "tok",
    }
    assert p.search_body(datetime.fromtimestamp(1_700_000_000, UTC)) == {"update_time_ge": 1_700_000_000}


def _delivery(shop: str = "7", stamp: int = 1_700_000_000) -> bytes:
    payload = {
        "type": 1,
        "tts_notification_id": "n1",
        "shop_id": shop,
        "timestamp": stamp,
        "data": {"order_id": "576"},
    }
    return json.dumps(payload).encode()


def test_webhook_problems() -> None:
    raw = _delivery()
    good = {"authorization": p.webhook_signature("key", "secret", raw)}

    def problem(headers: dict[str, str], body: bytes, shop: str = "7", now: float = 1_700_000_010) -> str:
        return p.webhook_problem(
            headers,
            body,
            app_key="key",
            app_secrets=("secret",),
            expected_shop=shop,
            max_age_seconds=60,
            now=now,
        )

    assert problem(good, raw) == ""
    assert problem({}, raw) == "missing Authorization signature"
    assert problem(good, raw + b" ") == "signature mismatch"
    assert problem(good, raw, shop="8") == "the delivery is for another shop"
    assert problem(good, raw, shop="") == "the delivery is for another shop"
    assert problem(good, raw, now=1_700_000_100) == "delivery too old"
    parsed = p.parsed_webhook(raw)
    assert (parsed.delivery_id, parsed.kind, parsed.order_id, parsed.topic) == (
        "n1",
        p.WebhookKind.ORDER,
        "576",
        "ORDER_STATUS_CHANGE",
    )


@pytest.mark.parametrize(
    ("code", "message", "token"),
    [
        (105002, "", True),
        (105001, "", True),
        (36009004, "Invalid credentials. The `x-tts-access-token` header is invalid.", True),
        (36009004, "Invalid credentials. Invalid `app_key` query parameter.", False),
        (36009002, "", False),
    ],
)
def test_token_failure_codes(code: int, message: str, token: bool) -> None:
    assert p.is_token_failure(code, message) is token


def test_envelope_reads_the_code_even_as_text() -> None:
    assert p.envelope({"code": "105002", "message": "expired"}) == (105002, "expired", None)
    assert p.envelope([1])[0] == -1 and p.envelope({"message": "x"})[0] == -1
