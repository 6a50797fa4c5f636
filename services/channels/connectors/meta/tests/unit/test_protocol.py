"""The Meta protocol's pure pieces: error envelope and usage headers, catalog choice, items_batch
requests and status, prices read back, orders, webhooks and the challenge."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from meta_connector import protocol as p


def test_graph_errors_are_classified() -> None:
    expired = p.graph_error(
        {"error": {"message": "x", "type": "OAuthException", "code": 190, "error_subcode": 463}}
    )
    assert expired is not None and expired.is_token_error and not expired.is_rate_limit
    assert "expired" in p.token_problem(expired) and "reconnect" in p.token_problem(expired)
    password = p.graph_error({"error": {"code": 190, "error_subcode": 460}})
    assert password is not None and "password" in p.token_problem(password)
    for code in (4, 17, 32, 613, 80004, 80014):
        error = p.graph_error({"error": {"code": code}})
        assert error is not None and error.is_rate_limit, code
    assert p.graph_error({"data": []}) is None and p.graph_error("nope") is None


def test_usage_header_gives_the_wait_in_seconds() -> None:
    usage = {
        "1": [
            {"type": "catalog_batch", "estimated_time_to_regain_access": 2},
            {"estimated_time_to_regain_access": 7},
        ]
    }
    assert p.regain_seconds({"x-business-use-case-usage": json.dumps(usage)}) == 420
    assert p.rate_limit_wait({}) == p.DEFAULT_RATE_LIMIT_WAIT_SECONDS
    zero = {"x-business-use-case-usage": json.dumps({"1": [{"estimated_time_to_regain_access": 0}]})}
    assert p.rate_limit_wait(zero) == 1.0
    assert p.regain_seconds({"x-business-use-case-usage": "{not json"}) is None


def test_catalog_choice() -> None:
    one, two = p.Catalog("11", "Main"), p.Catalog("22", "Outlet")
    assert p.choose_catalog([one], "") == one
    assert p.choose_catalog([one, two], "22") == two
    several = p.choose_catalog([one, two], "")
    assert isinstance(several, str) and "11 (Main)" in several and "22 (Outlet)" in several
    assert isinstance(p.choose_catalog([one], "33"), str)
    assert isinstance(p.choose_catalog([], ""), str)


def test_items_batch_requests() -> None:
    assert p.inventory_request(p.InventoryInput("A", 0)) == {
        "method": "UPDATE",
        "data": {"id": "A", "inventory": 0, "availability": "out of stock"},
    }
    assert p.inventory_request(p.InventoryInput("A", 3))["data"]["availability"] == "in stock"
    sale = p.price_request(p.PriceInput("A", p.Amount(799, "USD"), p.Amount(1299, "USD")))
    assert sale["data"] == {"id": "A", "price": "12.99 USD", "sale_price": "7.99 USD"}
    plain = p.price_request(p.PriceInput("A", p.Amount(1000, "JPY"), None))
    assert plain["data"] == {"id": "A", "price": "1000 JPY", "sale_price": ""}
    form = p.items_batch_form([sale])
    assert form["item_type"] == "PRODUCT_ITEM" and form["allow_upsert"] == "false"
    assert json.loads(form["requests"]) == [sale]
    assert p.price_problem(p.PriceInput("A", p.Amount(1, "XXZ"), None))


def test_batch_status_reads_errors_and_invalid_ids() -> None:
    running = p.batch_status({"data": [{"handle": "h", "status": "in_progress"}]})
    assert not running.finished
    done = p.batch_status(
        {
            "data": [
                {
                    "status": "finished",
                    "errors": [{"line": 1, "id": "A", "message": "bad price"}, {"message": "general"}],
                    "ids_of_invalid_requests": ["A", "B"],
                }
            ]
        }
    )
    assert done.finished and done.rejected == {
        "A": "bad price",
        "B": "Meta refused this item (invalid request)",
    }
    assert done.general_errors == ("general",)


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("9.99 USD", "", 999),
        ("$9.99", "USD", 999),
        ("9,99 €", "EUR", 999),
        ("$1,299.00", "USD", 129900),
        ("", "USD", None),
    ],
)
def test_prices_read_back(text: str, currency: str, minor: int | None) -> None:
    amount = p.read_meta_price(text, currency)
    assert (amount.amount_minor if amount else None) == minor


def test_remote_price_with_a_sale() -> None:
    price = p.remote_price("A", {"price": "$12.99", "sale_price": "$7.99", "currency": "USD"})
    assert price.found and price.price == p.Amount(799, "USD") and price.compare_at == p.Amount(1299, "USD")
    assert not p.remote_price("A", None).found


def test_paging_only_continues_when_there_is_a_next_page() -> None:
    assert p.page_items({"data": [{"id": "1"}], "paging": {"cursors": {"after": "c"}, "next": "u"}}) == (
        [{"id": "1"}],
        "c",
    )
    assert p.page_items({"data": [{"id": "1"}], "paging": {"cursors": {"after": "c"}}}) == ([{"id": "1"}], "")


def test_authorization_url_and_scopes() -> None:
    url = p.authorization_url(
        "https://www.facebook.com/v25.0",
        app_id="1",
        redirect_uri="https://o.test/cb",
        state="s",
        scopes=p.scopes_for("instagram"),
    )
    parts = urlsplit(url)
    assert parts.path == "/v25.0/dialog/oauth"
    query = parse_qs(parts.query)
    assert query["response_type"] == ["code"] and query["state"] == ["s"]
    assert "instagram_shopping_tag_products" in query["scope"][0].split(",")
    assert "instagram_basic" not in p.scopes_for("facebook")
    assert p.scopes_for("facebook", "a, b") == ("a", "b")
    assert p.callback_problem({"error": "access_denied", "error_reason": "user_denied"})
    assert p.callback_problem({"state": "s"}) == "the callback has no code"
    assert p.callback_problem({"code": "c"}) is None


def test_orders_map_to_the_unified_status_and_money() -> None:
    order = {
        "id": "77",
        "order_status": {"state": "IN_PROGRESS"},
        "created": "2026-12-01T10:00:00+00:00",
        "buyer_details": {"name": "Ann", "email": "ann@x.test"},
        "estimated_payment_details": {"total_amount": {"amount": "12.50", "currency": "USD"}},
        "shipping_address": {"street1": "1 Way", "city": "Town", "country": "us", "postal_code": "1"},
    }
    items = [
        {
            "id": "i1",
            "retailer_id": "A",
            "quantity": 2,
            "price_per_unit": {"amount": "6.25", "currency": "USD"},
        }
    ]
    parsed = p.parse_order(order, items)
    assert parsed.status == p.UnifiedStatus.PAID and parsed.total == p.Amount(1250, "USD")
    assert parsed.lines[0].unit_price == p.Amount(625, "USD") and parsed.shipping_address.country_code == "US"
    assert parsed.created_at is not None and parsed.created_at.year == 2026
    assert p.unified_status("COMPLETED") == p.UnifiedStatus.SHIPPED
    assert p.unified_status("COMPLETED", cancelled=True) == p.UnifiedStatus.CANCELLED
    assert p.fully_cancelled(items, [{"items": [{"retailer_id": "A", "quantity": 2}]}])
    assert not p.fully_cancelled(items, [{"items": [{"retailer_id": "A", "quantity": 1}]}])


def test_order_action_bodies_have_stable_idempotency_keys() -> None:
    first = p.shipment_body("77", [("A", 2)], carrier="UPS", tracking_number="1Z")
    assert first == p.shipment_body("77", [("A", 2)], carrier="UPS", tracking_number="1Z")
    assert (
        first["idempotency_key"]
        != p.shipment_body("77", [("A", 1)], carrier="UPS", tracking_number="1Z")["idempotency_key"]
    )
    assert (
        first["items"] == [{"retailer_id": "A", "quantity": 2}] and first["tracking_info"]["carrier"] == "UPS"
    )
    assert (
        p.acknowledge_form("77", "ref")["idempotency_key"]
        == p.acknowledge_form("77", "other")["idempotency_key"]
    )
    cancel = p.cancellation_body("77", "")
    assert cancel["cancel_reason"]["reason_code"] and cancel["restock_items"] is True


def test_webhook_signature_and_envelope() -> None:
    raw = b'{"object":"page","entry":[{"id":"1","time":2,"changes":[{"field":"feed","value":{}}]}]}'
    good = "sha256=" + hmac.new(b"secret", raw, hashlib.sha256).hexdigest()
    assert p.webhook_problem({"x-hub-signature-256": good}, raw, ("old", "secret")) is None
    assert p.webhook_problem({"x-hub-signature-256": good}, raw + b"\n", ("secret",))
    assert p.webhook_problem({}, raw, ("secret",))
    signed_list = b"[]"
    assert "envelope" in str(
        p.webhook_problem(
            {"x-hub-signature-256": p.signature("secret", signed_list)}, signed_list, ("secret",)
        )
    )
    parsed = p.parsed_webhook(raw)
    assert parsed.kind == p.WebhookKind.OTHER and parsed.topic == "page/feed"
    assert parsed.delivery_id == hashlib.sha256(raw).hexdigest()


def test_challenge_answer() -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": "tok", "hub.challenge": "123"}
    assert p.challenge_answer(query, "tok") == "123"
    assert p.challenge_answer({**query, "hub.verify_token": "x"}, "tok") is None
    assert p.challenge_answer({**query, "hub.mode": "unsubscribe"}, "tok") is None
    assert p.challenge_answer(query, "") is None


def test_usage_percent_takes_the_highest_reported_share() -> None:
    headers = {
        "x-app-usage": json.dumps({"call_count": 12, "total_time": 80, "total_cputime": 3}),
        "x-business-use-case-usage": json.dumps(
            {"1": [{"call_count": 91, "estimated_time_to_regain_access": 0}]}
        ),
    }
    assert p.usage_percent(headers) == 91
    assert p.usage_percent({"x-app-usage": json.dumps({"call_count": 5})}) == 5
    assert p.usage_percent({}) is None


def test_each_order_belongs_to_exactly_one_of_the_two_meta_channels() -> None:
    """One commerce account serves both shops: an order is imported by the connection of the
    channel the buyer used, never by both (double reservation) nor by neither."""
    for channel, owner in (
        ("instagram", "instagram"),
        ("INSTAGRAM", "instagram"),
        ("facebook", "facebook"),
        ("", "facebook"),
        (None, "facebook"),
    ):
        order = {"id": "1", "channel": channel}
        takers = [kind for kind in ("facebook", "instagram") if p.bought_on(order, kind)]
        assert takers == [owner], (channel, takers)
