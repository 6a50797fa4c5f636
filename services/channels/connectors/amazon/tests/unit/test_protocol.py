"""The pure Amazon protocol: consent URL and callback, patches and their answers, the feed and its
report, orders and items into OrderData, shipment lines."""

from __future__ import annotations

import gzip
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from amazon_connector import protocol as p

ORDER = {
    "AmazonOrderId": "113-1234567-7654321",
    "PurchaseDate": "2026-01-02T03:04:05Z",
    "LastUpdateDate": "2026-01-02T04:00:00Z",
    "OrderStatus": "PartiallyShipped",
    "FulfillmentChannel": "MFN",
    "OrderTotal": {"CurrencyCode": "USD", "Amount": "27.48"},
    "ShippingAddress": {"City": "SEATTLE", "StateOrRegion": "WA", "PostalCode": "98109", "CountryCode": "us"},
    "BuyerInfo": {"BuyerEmail": "x@marketplace.amazon.com"},
}
ITEMS = [
    {
        "ASIN": "B0001",
        "SellerSKU": "MUG",
        "OrderItemId": "12345678901234",
        "Title": "Mug",
        "QuantityOrdered": 3,
        "QuantityShipped": 1,
        "ItemPrice": {"CurrencyCode": "USD", "Amount": "29.97"},
        "ItemTax": {"CurrencyCode": "USD", "Amount": "1.50"},
        "PromotionDiscount": {"CurrencyCode": "USD", "Amount": "3.99"},
        "ShippingPrice": {"CurrencyCode": "USD", "Amount": "0.00"},
    }
]


def test_consent_url_adds_version_beta_only_for_a_draft_app() -> None:
    url = p.consent_url(
        p.CONSENT_URLS["na"],
        application_id="amzn1.sp.solution.x",
        state="s1",
        redirect_uri="https://o.test/cb",
        beta=True,
    )
    parts = urlsplit(url)
    assert (
        f"{parts.scheme}://{parts.netloc}{parts.path}"
        == "https://sellercentral.amazon.com/apps/authorize/consent"
    )
    assert parse_qs(parts.query) == {
        "application_id": ["amzn1.sp.solution.x"],
        "state": ["s1"],
        "redirect_uri": ["https://o.test/cb"],
        "version": ["beta"],
    }
    assert "version" not in p.consent_url(
        "https://c", application_id="a", state="s", redirect_uri="r", beta=False
    )


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"spapi_oauth_code": "c", "selling_partner_id": "A3FHEXAMPLE"}, ""),
        ({"selling_partner_id": "A3FHEXAMPLE"}, "the callback has no spapi_oauth_code"),
        ({"spapi_oauth_code": "c"}, "the callback has no valid selling_partner_id"),
        (
            {"spapi_oauth_code": "c", "selling_partner_id": "A3/../x"},
            "the callback has no valid selling_partner_id",
        ),
    ],
)
def test_callback_needs_the_code_and_a_partner_id(params: dict[str, str], problem: str) -> None:
    assert p.callback_problem(params) == problem


def test_token_forms() -> None:
    assert p.code_exchange_form("id", "secret", "code", "https://o.test/cb") == {
        "grant_type": "authorization_code",
        "code": "code",
        "client_id": "id",
        "client_secret": "secret",
        "redirect_uri": "https://o.test/cb",
    }
    assert p.refresh_form("id", "secret", "Atzr|r")["grant_type"] == "refresh_token"


def test_patches_have_the_listing_attribute_shapes() -> None:
    assert p.quantity_patch(-2) == {
        "op": "merge",
        "path": "/attributes/fulfillment_availability",
        "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 0}],
    }
    offer = p.price_patch("ATVPDKIKX0DER", 1999, "USD")["value"][0]
    assert offer == {
        "marketplace_id": "ATVPDKIKX0DER",
        "currency": "USD",
        "audience": "ALL",
        "our_price": [{"schedule": [{"value_with_tax": 19.99}]}],
    }
    assert (
        p.price_patch("A1VC38T7YXB528", 1500, "JPY")["value"][0]["our_price"][0]["schedule"][0][
            "value_with_tax"
        ]
        == 1500
    )
    assert p.price_problem("EUR", "USD", 100) == "price is in EUR, the marketplace sells in USD"
    assert p.price_problem("USD", "USD", 100) == ""
    assert p.patch_body({"product_type": "LUGGAGE"}, [])["productType"] == "LUGGAGE"
    assert p.patch_body({}, [])["productType"] == "PRODUCT"


def test_patch_answers() -> None:
    assert p.submission(
        "A", {"status": "ACCEPTED", "issues": [{"severity": "WARNING", "message": "w"}]}
    ).accepted
    refused = p.submission(
        "A", {"status": "INVALID", "issues": [{"code": "90220", "message": "bad qty", "severity": "ERROR"}]}
    )
    assert not refused.accepted and refused.message == "90220: bad qty"
    assert not p.submission("A", "nope").accepted


def test_listing_view_reads_the_seller_fulfilled_quantity_and_b2c_price() -> None:
    item = {
        "sku": "A",
        "fulfillmentAvailability": [
            {"fulfillmentChannelCode": "AMAZON_NA", "quantity": 40},
            {"fulfillmentChannelCode": "DEFAULT", "quantity": 3},
        ],
        "offers": [
            {
                "marketplaceId": "ATVPDKIKX0DER",
                "offerType": "B2B",
                "price": {"currencyCode": "USD", "amount": "8.00"},
            },
            {
                "marketplaceId": "ATVPDKIKX0DER",
                "offerType": "B2C",
                "price": {"currencyCode": "USD", "amount": "9.50"},
            },
        ],
    }
    assert p.listing_view(item, "ATVPDKIKX0DER") == p.ListingView("A", 3, "9.50", "USD")
    assert p.listing_view({"sku": "B"}, "ATVPDKIKX0DER") == p.ListingView("B", None, None, "")


def test_remote_product_ids() -> None:
    product = p.remote_product(
        {
            "sku": "A",
            "summaries": [{"marketplaceId": "M", "asin": "B01", "productType": "SHIRT", "itemName": "Tee"}],
        },
        "SELLER",
        "M",
    )
    assert product == p.RemoteProductData(
        "A", "Tee", {"seller_id": "SELLER", "sku": "A", "asin": "B01", "product_type": "SHIRT"}, 0
    )
    assert p.remote_product({"summaries": []}, "S", "M") is None


def test_feed_document_numbers_messages_and_the_report_names_them() -> None:
    feed = p.feed_document(
        "SELLER", [p.FeedMessage("A", "PRODUCT", [p.quantity_patch(1)]), p.FeedMessage("B", "PRODUCT", [])]
    )
    assert feed["header"] == {"sellerId": "SELLER", "version": "2.0", "issueLocale": "en_US"}
    assert [(m["messageId"], m["sku"], m["operationType"]) for m in feed["messages"]] == [
        (1, "A", "PATCH"),
        (2, "B", "PATCH"),
    ]
    report = {
        "issues": [
            {"messageId": 2, "sku": "B", "code": "4000", "severity": "ERROR", "message": "unknown"},
            {"messageId": 2, "sku": "B", "code": "4001", "severity": "ERROR", "message": "also"},
            {"messageId": 1, "sku": "A", "code": "1", "severity": "WARNING", "message": "fine"},
            {"messageId": 99, "severity": "ERROR", "message": "not ours"},
        ]
    }
    assert p.report_errors(report, 2) == {2: "4000: unknown; 4001: also"}
    with pytest.raises(ValueError):
        p.report_errors({}, 2)
    raw = json.dumps(report).encode()
    assert p.report_bytes(gzip.compress(raw), "GZIP") == raw
    assert p.report_bytes(raw, "") == raw
    with pytest.raises(ValueError):
        p.report_bytes(b"not gzip", "GZIP")
    assert p.fatal_message({"issues": [{"severity": "ERROR", "message": "bad header"}]}) == "bad header"


@pytest.mark.parametrize(
    ("raw", "unified"),
    [
        ("Pending", p.UnifiedStatus.PENDING),
        ("PendingAvailability", p.UnifiedStatus.PENDING),
        ("Unshipped", p.UnifiedStatus.PAID),
        ("PartiallyShipped", p.UnifiedStatus.PARTIALLY_SHIPPED),
        ("Shipped", p.UnifiedStatus.SHIPPED),
        ("InvoiceUnconfirmed", p.UnifiedStatus.SHIPPED),
        ("Canceled", p.UnifiedStatus.CANCELLED),
        ("Unfulfillable", p.UnifiedStatus.CANCELLED),
    ],
)
def test_every_amazon_order_status_is_mapped(raw: str, unified: p.UnifiedStatus) -> None:
    assert p.STATUS_MAP[raw] is unified


def test_order_data_in_minor_units_with_line_totals() -> None:
    order = p.order_data(ORDER, ITEMS)
    assert (order.external_id, order.status, order.raw_status) == (
        "113-1234567-7654321",
        p.UnifiedStatus.PARTIALLY_SHIPPED,
        "PartiallyShipped",
    )
    assert order.total == p.Amount(2748, "USD")
    (line,) = order.lines
    assert (line.external_line_id, line.sku, line.quantity, line.quantity_fulfilled) == (
        "12345678901234",
        "MUG",
        3,
        1,
    )
    assert (
        line.unit_price == p.Amount(999, "USD")
        and line.tax == p.Amount(150, "USD")
        and line.discount == p.Amount(399, "USD")
    )
    assert order.subtotal == p.Amount(2598, "USD") and order.tax_total == p.Amount(150, "USD")
    assert order.shipping_address is not None and order.shipping_address.country_code == "US"
    assert order.customer_email == "x@marketplace.amazon.com"
    assert json.loads(order.raw_json)["order"]["AmazonOrderId"] == "113-1234567-7654321"
    assert p.is_order_id("113-1234567-7654321") and not p.is_order_id("113-123-7654321")


def test_shipment_items_and_a_stable_package_id() -> None:
    items = [
        {"OrderItemId": "1", "SellerSKU": "A", "QuantityOrdered": 2, "QuantityShipped": 1},
        {"OrderItemId": "2", "SellerSKU": "B", "QuantityOrdered": 1, "QuantityShipped": 0},
    ]
    assert p.shipment_items(items, []) == ([("1", 1), ("2", 1)], "")
    assert p.shipment_items(items, [("", "B", 5)]) == ([("2", 1)], "")
    assert p.shipment_items(items, [("9", "Z", 1)]) == ([], "the order has no item '9'")
    shipped = [{**i, "QuantityShipped": i["QuantityOrdered"]} for i in items]
    assert p.shipment_items(shipped, []) == ([], "every item of the order is already shipped")
    first = p.package_reference_id("113-1234567-7654321", "1Z")
    assert first.isdigit() and int(first) > 0 and first == p.package_reference_id("113-1234567-7654321", "1Z")
    assert first != p.package_reference_id("113-1234567-7654321", "1Y")
    assert p.carrier_fields("ups") == {"carrierCode": "UPS"}
    assert p.carrier_fields("Hermes") == {"carrierCode": "Other", "carrierName": "Hermes"}


def test_the_token_bad_signal_and_the_rate_header() -> None:
    assert p.is_token_rejected(403, {"errors": [{"code": "Unauthorized", "message": "Access denied"}]})
    assert p.is_token_rejected(401, None)
    assert not p.is_token_rejected(403, {"errors": [{"code": "InvalidInput"}]})
    assert not p.is_token_rejected(400, {"errors": [{"code": "Unauthorized"}]})
    assert (
        p.rate_limit_header("0.5") == 0.5
        and p.rate_limit_header("x") is None
        and p.rate_limit_header(None) is None
    )
    assert (
        p.error_summary({"errors": [{"code": "QuotaExceeded", "message": "slow down"}]})
        == "QuotaExceeded: slow down"
    )
    assert p.listing_path("A1", "a b/c") == "/listings/2021-08-01/items/A1/a%20b%2Fc"
