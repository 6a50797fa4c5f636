"""The pure eBay protocol: OAuth forms, bulk outcomes, orders, fulfillment ids, notifications."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ebay_connector import protocol as p


def test_consent_url_sends_the_runame_and_space_separated_scopes() -> None:
    url = p.authorization_url(
        "https://auth.ebay.com",
        client_id="app",
        ru_name="Acme-App-PRD-1",
        scopes=p.DEFAULT_SCOPES,
        state="s1",
    )
    parts = urlsplit(url)
    assert (parts.netloc, parts.path) == ("auth.ebay.com", "/oauth2/authorize")
    query = parse_qs(parts.query)
    assert query["redirect_uri"] == ["Acme-App-PRD-1"]
    assert query["scope"] == [" ".join(p.DEFAULT_SCOPES)]
    assert query["response_type"] == ["code"] and query["state"] == ["s1"]
    assert "scope=https%3A%2F%2Fapi.ebay.com%2Foauth%2Fapi_scope%2Fsell.inventory%20" in parts.query


def test_callback_code_is_url_decoded_once() -> None:
    assert p.callback_code({"code": "v%5E1.1%23i%5E1%2Babc"}) == "v^1.1#i^1+abc"
    assert p.callback_code({"code": "v^1.1#i^1"}) == "v^1.1#i^1"


def test_token_forms_and_basic_auth() -> None:
    assert p.code_exchange_form("c", "RU") == {
        "grant_type": "authorization_code",
        "code": "c",
        "redirect_uri": "RU",
    }
    assert p.refresh_form("r", ["a", "b"]) == {
        "grant_type": "refresh_token",
        "refresh_token": "r",
        "scope": "a b",
    }
    assert p.basic_auth("id", "secret") == "Basic " + base64.b64encode(b"id:secret").decode()


def test_refresh_days_left() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert p.refresh_days_left(datetime(2026, 1, 31, 12, tzinfo=UTC), now) == 30
    assert p.refresh_days_left(None, now) is None


def test_bulk_entries() -> None:
    item = p.InventoryInput("A", -2, {"offer_id": "O1"})
    assert p.quantity_request(item) == {
        "sku": "A",
        "shipToLocationAvailability": {"quantity": 0},
        "offers": [{"offerId": "O1", "availableQuantity": 0}],
    }
    assert p.quantity_request(p.InventoryInput("B", 3)) == {
        "sku": "B",
        "shipToLocationAvailability": {"quantity": 3},
    }
    price = p.price_request(p.PriceInput("A", p.Amount(1999, "USD"), ids={"offer_id": "O1"}))
    assert price == {"offers": [{"offerId": "O1", "price": {"value": "19.99", "currency": "USD"}}]}


def test_item_outcomes_from_a_207() -> None:
    responses = [
        {"statusCode": 200, "sku": "A", "offerId": "O1"},
        {
            "statusCode": 400,
            "sku": "B",
            "offerId": "O2",
            "errors": [{"errorId": 25709, "message": "Invalid value"}],
        },
        {"statusCode": 500, "sku": "C", "errors": [{"errorId": 25001, "message": "System error"}]},
        {
            "statusCode": 400,
            "sku": "D",
            "errors": [{"errorId": 25002, "message": "revised up to 250 times today"}],
        },
    ]
    assert p.item_outcome(responses, sku="A", offer_id="O1") == (p.Outcome.APPLIED, "")
    outcome, message = p.item_outcome(responses, sku="B", offer_id="O2")
    assert outcome is p.Outcome.REJECTED and "25709 Invalid value" in message
    assert p.item_outcome(responses, sku="C", offer_id="")[0] is p.Outcome.RETRY
    assert p.item_outcome(responses, sku="D", offer_id="")[0] is p.Outcome.RETRY
    assert p.item_outcome(responses, sku="E", offer_id="O9")[0] is p.Outcome.RETRY


def test_orders_query_encodes_the_brackets() -> None:
    since = datetime(2024, 5, 15, 8, 25, 43, 511000, tzinfo=UTC)
    query = p.orders_query(since, offset=50, limit=25)
    assert query == "filter=lastmodifieddate:%5B2024-05-15T08:25:43.511Z..%5D&limit=25&offset=50"
    assert p.orders_query(None, offset=0, limit=10) == "limit=10&offset=0"


def _order(**overrides: object) -> dict:
    order = {
        "orderId": "12-34567-89012",
        "creationDate": "2024-05-15T08:25:43.511Z",
        "lastModifiedDate": "2024-05-15T09:00:00.000Z",
        "orderFulfillmentStatus": "NOT_STARTED",
        "orderPaymentStatus": "PAID",
        "cancelStatus": {"cancelState": "NONE_REQUESTED"},
        "buyer": {"username": "buyer1", "buyerRegistrationAddress": {"email": "b@example.test"}},
        "pricingSummary": {"total": {"value": "38.00", "currency": "USD"}},
        "fulfillmentStartInstructions": [
            {
                "shippingStep": {
                    "shipTo": {
                        "fullName": "B One",
                        "contactAddress": {
                            "addressLine1": "1 Main",
                            "city": "X",
                            "postalCode": "1",
                            "countryCode": "US",
                        },
                    }
                }
            }
        ],
        "lineItems": [
            {
                "lineItemId": "L1",
                "sku": "TEE",
                "title": "Tee",
                "quantity": 2,
                "lineItemCost": {"value": "38.00", "currency": "USD"},
            }
        ],
    }
    order.update(overrides)
    return order


def test_parse_order() -> None:
    order = p.parse_order(_order())
    assert order.external_id == "12-34567-89012" and order.status is p.UnifiedStatus.PAID
    assert order.total == p.Amount(3800, "USD") and order.customer_email == "b@example.test"
    (line,) = order.lines
    assert (line.external_line_id, line.sku, line.quantity, line.unit_price) == (
        "L1",
        "TEE",
        2,
        p.Amount(1900, "USD"),
    )
    assert order.shipping_address is not None and order.shipping_address.country_code == "US"
    assert json.loads(order.raw_json)["orderId"] == "12-34567-89012"


def test_status_mapping() -> None:
    assert p.unified_status(_order(orderFulfillmentStatus="FULFILLED")) is p.UnifiedStatus.SHIPPED
    assert p.unified_status(_order(orderFulfillmentStatus="IN_PROGRESS")) is p.UnifiedStatus.PARTIALLY_SHIPPED
    assert p.unified_status(_order(orderPaymentStatus="PENDING")) is p.UnifiedStatus.PENDING
    assert p.unified_status(_order(orderPaymentStatus="FULLY_REFUNDED")) is p.UnifiedStatus.REFUNDED
    assert p.unified_status(_order(cancelStatus={"cancelState": "CANCELED"})) is p.UnifiedStatus.CANCELLED


def test_orders_page_cursor_is_the_next_offset() -> None:
    orders, cursor = p.orders_page({"orders": [_order()], "next": "…"}, 0, 1)
    assert len(orders) == 1 and cursor == "1"
    assert p.orders_page({"orders": []}, 5, 10) == ([], "")


def test_fulfillment_id_from_location() -> None:
    location = (
        "https://api.ebay.com/sell/fulfillment/v1/order/12-1-2/shipping_fulfillment/9405509699937003457459"
    )
    assert p.fulfillment_id_from_location(location) == "9405509699937003457459"
    assert p.fulfillment_id_from_location("https://api.ebay.com/elsewhere") == ""


def test_inventory_page_and_offers() -> None:
    items, cursor = p.inventory_page(
        {"inventoryItems": [{"sku": "A"}, {"nosku": 1}], "total": 3, "next": "x"}, 0, 2
    )
    assert [i["sku"] for i in items] == ["A"] and cursor == "2"
    assert p.inventory_page({"inventoryItems": [], "total": 2, "next": "x"}, 0, 2)[1] == ""
    offers = p.parse_offers(
        {
            "offers": [
                {"offerId": "O2", "sku": "A", "marketplaceId": "EBAY_GB", "status": "PUBLISHED"},
                {
                    "offerId": "O1",
                    "sku": "A",
                    "marketplaceId": "EBAY_US",
                    "status": "PUBLISHED",
                    "listing": {"listingId": "L1"},
                    "pricingSummary": {"price": {"value": "9.99", "currency": "USD"}},
                    "availableQuantity": 4,
                },
            ]
        }
    )
    chosen = p.pick_offer(offers, "EBAY_US")
    assert chosen is not None and (chosen.offer_id, chosen.listing_id, chosen.price) == ("O1", "L1", "9.99")
    product = p.remote_product(
        {
            "sku": "A",
            "product": {"title": "Mug"},
            "availability": {"shipToLocationAvailability": {"quantity": 4}},
        },
        chosen,
    )
    assert product.ids == {"sku": "A", "offer_id": "O1", "listing_id": "L1"} and product.quantity == 4


def test_challenge_response_is_sha256_of_code_token_endpoint() -> None:
    expected = hashlib.sha256(b"abc" + b"token" + b"https://x.test/hook").hexdigest()
    assert p.challenge_response("abc", "token", "https://x.test/hook") == expected
    assert json.loads(p.challenge_body("abc", "token", "https://x.test/hook")) == {
        "challengeResponse": expected
    }


def _signed(body: bytes, key: ec.EllipticCurvePrivateKey) -> str:
    signature = base64.b64encode(key.sign(body, ec.ECDSA(hashes.SHA1()))).decode()
    header = {"alg": "ecdsa", "kid": "k1", "signature": signature, "digest": "SHA1"}
    return base64.b64encode(json.dumps(header).encode()).decode()


def test_signature_verifies_with_ebays_one_line_pem_and_refuses_a_changed_body() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    one_line = "".join(pem.decode().split("\n"))
    body = json.dumps(
        {"metadata": {"topic": "MARKETPLACE_ACCOUNT_DELETION"}, "notification": {"notificationId": "n1"}}
    ).encode()
    header = p.parse_signature_header(_signed(body, key))
    assert header is not None and header.kid == "k1"
    assert p.verify_signature(one_line, header.signature, body)
    # eBay's SDK verifies over compact JSON: a pretty-printed delivery of the same JSON verifies too.
    compact = json.dumps(json.loads(body), separators=(",", ":")).encode()
    assert p.verify_signature(one_line, p.parse_signature_header(_signed(compact, key)).signature, body)  # type: ignore[union-attr]
    assert not p.verify_signature(one_line, header.signature, body.replace(b"n1", b"n2"))
    other = ec.generate_private_key(ec.SECP256R1())
    assert not p.verify_signature(one_line, p.parse_signature_header(_signed(body, other)).signature, body)  # type: ignore[union-attr]
    assert not p.verify_signature("not a key", header.signature, body)
    assert p.parse_signature_header("not base64 json") is None


def test_notification_payload() -> None:
    good = json.dumps(
        {
            "metadata": {"topic": "MARKETPLACE_ACCOUNT_DELETION"},
            "notification": {"notificationId": "n1", "data": {"userId": "u"}},
        }
    ).encode()
    assert p.payload_problem(good) == ""
    parsed = p.parsed_notification(good)
    assert (parsed.delivery_id, parsed.topic, parsed.kind) == (
        "n1",
        "MARKETPLACE_ACCOUNT_DELETION",
        p.WebhookKind.OTHER,
    )
    assert p.payload_problem(b"[]") == "body is not a JSON object"
    assert (
        p.payload_problem(b'{"metadata":{"topic":"OTHER"},"notification":{"notificationId":"x"}}')
        == "unsupported topic"
    )
