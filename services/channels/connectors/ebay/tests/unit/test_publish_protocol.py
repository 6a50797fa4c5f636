"""The pure publishing, catalog-import and cancellation protocol, and the revision bookkeeping of
a product update (publishing._admit over an in-memory ledger)."""

from __future__ import annotations

from datetime import UTC, datetime

from ebay_connector import protocol as p
from ebay_connector.protocol import cancel as pc
from ebay_connector.protocol import catalog_import as ci
from ebay_connector.protocol import publish as pub
from ebay_connector.publishing import _admit
from ebay_connector.pushing import Budget
from ebay_connector.revisions import MemoryRevisionLedger
from omnistock_connector_kit.catalog_import import single_level
from omnistock_connector_kit.publishing import ProductUpsert, VariantUpsert
from omnistock_connector_kit.values import Amount

SETTINGS = {
    "category_id": "11450",
    "fulfillment_policy_id": "FP",
    "payment_policy_id": "PP",
    "return_policy_id": "RP",
    "merchant_location_key": "WH",
}


def variant(sku: str, size: str = "", minor: int = 1500, **kw: object) -> VariantUpsert:
    options = (("Size", size),) if size else ()
    return VariantUpsert(sku=sku, options=options, price=Amount(minor, "USD"), **kw)  # type: ignore[arg-type]


def tee(*variants: VariantUpsert, **kw: object) -> ProductUpsert:
    fields = {
        "product_id": "p1",
        "title": "Tee",
        "description": "Cotton",
        "vendor": "Acme",
        "image_urls": ("https://cdn.test/t.jpg",),
        "variants": variants,
        **kw,
    }
    return ProductUpsert(**fields)  # type: ignore[arg-type]


def test_identity_one_sku_or_a_group() -> None:
    single = tee(variant("MUG"))
    assert not pub.is_grouped(single) and pub.external_id(single) == "MUG"
    group = tee(variant("T-S", "S"), variant("T-M", "M"))
    assert pub.is_grouped(group) and pub.external_id(group) == "os-p1"
    # An update naming one variant of a group stays a group update.
    partial = tee(variant("T-S", "S", external_id="T-S"), external_id="os-p1")
    assert pub.is_grouped(partial) and pub.group_key(partial) == "os-p1"


def test_problems_name_the_setting_or_field() -> None:
    assert "category_id, fulfillment_policy_id" in (pub.upsert_problem(tee(variant("A")), {}) or "")
    assert pub.upsert_problem(tee(variant("A")), SETTINGS) is None
    assert "imageUrls" in (pub.upsert_problem(tee(variant("A"), image_urls=()), SETTINGS) or "")
    assert "description" in (pub.upsert_problem(tee(variant("A"), description=" "), SETTINGS) or "")
    assert "price" in (pub.upsert_problem(tee(VariantUpsert(sku="A")), SETTINGS) or "")
    assert "options" in (pub.upsert_problem(tee(variant("A"), variant("B")), SETTINGS) or "")
    assert "50 characters" in (pub.upsert_problem(tee(variant("X" * 51)), SETTINGS) or "")
    assert "same SKU" in (pub.upsert_problem(tee(variant("A", "S"), variant("A", "M")), SETTINGS) or "")
    assert "above zero" in (pub.upsert_problem(tee(variant("A", minor=0)), SETTINGS) or "")
    grow = tee(variant("A", "S", external_id="A"), variant("B", "M"), external_id="A")
    assert "cannot gain variants" in (pub.upsert_problem(grow, SETTINGS) or "")
    # An update that owns only prices needs no images.
    prices_only = tee(
        variant("A", external_id="A"), external_id="A", image_urls=(), owned_fields=frozenset({"prices"})
    )
    assert pub.upsert_problem(prices_only, SETTINGS) is None


def test_item_body_creates_at_zero_and_an_update_keeps_what_it_does_not_own() -> None:
    product = tee(variant("A", barcode="4006381333931"))
    created = pub.item_body(product, product.variants[0], None, SETTINGS)
    assert created["product"]["title"] == "Tee" and created["product"]["ean"] == ["4006381333931"]
    assert created["availability"] == {"shipToLocationAvailability": {"quantity": 0}}
    assert created["condition"] == "NEW" and created["product"]["aspects"] == {"Brand": ["Acme"]}
    current = {
        "sku": "A",
        "groupIds": ["g"],
        "condition": "USED_GOOD",
        "product": {"title": "Theirs", "description": "Theirs", "imageUrls": ["https://x/1.jpg"]},
        "availability": {"shipToLocationAvailability": {"quantity": 9}},
    }
    update = tee(
        variant("A", external_id="A"), external_id="A", title="Ours", owned_fields=frozenset({"title"})
    )
    body = pub.item_body(update, update.variants[0], current, SETTINGS)
    assert body["product"] == {"title": "Ours", "description": "Theirs", "imageUrls": ["https://x/1.jpg"]}
    assert body["availability"]["shipToLocationAvailability"]["quantity"] == 9
    assert body["condition"] == "USED_GOOD" and "sku" not in body and "groupIds" not in body


def test_group_body_merges_skus_and_variation_values() -> None:
    current = {
        "title": "Tee",
        "variantSKUs": ["T-S"],
        "variesBy": {"aspectsImageVariesBy": [], "specifications": [{"name": "Size", "values": ["S"]}]},
    }
    product = tee(variant("T-M", "M"), external_id="os-p1")
    body = pub.group_body(product, "os-p1", current)
    assert body["variantSKUs"] == ["T-S", "T-M"] and body["inventoryItemGroupKey"] == "os-p1"
    assert body["variesBy"]["specifications"] == [{"name": "Size", "values": ["S", "M"]}]


def test_offer_body_create_and_update() -> None:
    product = tee(variant("A", compare_at=Amount(2000, "USD")))
    created = pub.offer_body(product, product.variants[0], SETTINGS, None)
    assert created["format"] == "FIXED_PRICE" and created["marketplaceId"] == "EBAY_US"
    assert created["listingPolicies"] == {
        "fulfillmentPolicyId": "FP",
        "paymentPolicyId": "PP",
        "returnPolicyId": "RP",
    }
    assert created["pricingSummary"] == {
        "price": {"value": "15.00", "currency": "USD"},
        "originalRetailPrice": {"value": "20.00", "currency": "USD"},
    }
    current = {
        "offerId": "5",
        "sku": "A",
        "status": "PUBLISHED",
        "listing": {"listingId": "11"},
        "categoryId": "99",
        "pricingSummary": {"price": {"value": "1.00", "currency": "USD"}},
    }
    update = tee(variant("A", external_id="A"), external_id="A", owned_fields=frozenset({"title"}))
    assert pub.offer_body(update, update.variants[0], SETTINGS, current) == {
        "categoryId": "99",
        "pricingSummary": {"price": {"value": "1.00", "currency": "USD"}},
    }


def test_live_follows_the_status_and_content_language_the_marketplace() -> None:
    assert pub.wants_live(tee(variant("A"))) is True
    assert pub.wants_live(tee(variant("A"), status="draft")) is False
    owned = frozenset({"status"})
    assert pub.wants_live(tee(variant("A"), external_id="A", status="archived", owned_fields=owned)) is False
    assert (
        pub.wants_live(tee(variant("A"), external_id="A", status="archived", owned_fields=frozenset({"x"})))
        is None
    )
    assert pub.content_language({"marketplace_id": "EBAY_DE"}) == "de-DE"
    assert pub.content_language({"content_language": "en-GB"}) == "en-GB"


def test_catalog_products_group_items_by_group_and_read_options_from_variesby() -> None:
    items = [
        {
            "sku": "T-S",
            "groupIds": ["G1"],
            "product": {
                "title": "Tee S",
                "aspects": {"Size": ["S"], "Brand": ["Acme"]},
                "upc": ["012345678905"],
            },
            "availability": {"shipToLocationAvailability": {"quantity": 3}},
        },
        {"sku": "T-M", "groupIds": ["G1"], "product": {"aspects": {"Size": ["M"]}}},
        {"sku": "MUG", "product": {"title": "Mug", "imageUrls": ["https://x/m.jpg"]}},
    ]
    offer = p.OfferData("5", "T-S", "EBAY_US", "11", "PUBLISHED", None, "15.00", "USD")
    group = {
        "title": "Tee",
        "imageUrls": ["https://x/t.jpg"],
        "variesBy": {"specifications": [{"name": "Size"}]},
    }
    products = ci.catalog_products(items, {"T-S": offer}, {"G1": group})
    tee_, mug = products
    assert (tee_.external_id, tee_.title, tee_.status, tee_.vendor) == ("G1", "Tee", "PUBLISHED", "Acme")
    assert [v.sku for v in tee_.variants] == ["T-S", "T-M"]
    small = tee_.variants[0]
    assert small.options == (("Size", "S"),) and small.price == Amount(1500, "USD")
    assert small.levels == single_level(3)
    assert (
        small.ids == {"sku": "T-S", "offer_id": "5", "listing_id": "11"} and small.barcode == "012345678905"
    )
    assert tee_.variants[1].ids == {"sku": "T-M"} and tee_.variants[1].price is None
    assert (mug.external_id, mug.status, mug.image_urls) == ("MUG", "UNPUBLISHED", ("https://x/m.jpg",))


def test_cancel_reason_body_and_refusal() -> None:
    assert pc.cancel_body("12-3", "customer") == {
        "legacyOrderId": "12-3",
        "cancelReason": "BUYER_ASKED_CANCEL",
    }
    assert pc.cancel_reason("") == pc.OUT_OF_STOCK and pc.cancel_reason("address_issues") == "ADDRESS_ISSUES"
    assert pc.iaf_authorization("t") == "IAF t"
    answer = {"orderEligibilityResult": {"eligible": False, "failureReason": ["ITEM_SHIPPED"]}}
    assert "ITEM_SHIPPED" in pc.refusal(answer) and pc.cancel_id(answer) == ""
    assert pc.refusal({"errors": [{"errorId": 1, "message": "nope"}]}) == "1 nope"
    legacy, state, shipped = pc.order_state({"orderId": "o", "cancelStatus": {"cancelState": "CANCELED"}})
    assert (legacy, state, shipped) == ("o", "CANCELED", "")


def test_a_live_update_counts_its_revisions_and_waits_within_the_reserve() -> None:
    ledger = MemoryRevisionLedger()
    budget = Budget(ledger, "c1", datetime(2026, 12, 6, 19, tzinfo=UTC), reserve=50)
    assert _admit(budget, {"L1": 5}) == ""
    day = budget.day
    assert ledger.spent("c1", day, "L1") == 5
    for _ in range(193):
        ledger.take("c1", day, "L1")
    message = _admit(budget, {"L1": 3})  # 198 spent: the third would enter the reserve
    assert "deferred" in message or "budget" in message
    assert ledger.spent("c1", day, "L1") == 198  # nothing stays counted
