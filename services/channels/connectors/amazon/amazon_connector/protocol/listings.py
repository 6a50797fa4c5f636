"""Listings Items 2021-08-01: patches for quantity and price, the answers, listings read back.

Attribute shapes (CHANNELS.md 5.3; schemas/feeds/listings-feed-schema-v2.example.json in
amzn/selling-partner-api-models; https://developer-docs.amazon.com/sp-api/docs/manage-purchasable-offer):
- quantity: `merge` on `/attributes/fulfillment_availability` with
  `[{"fulfillment_channel_code": "DEFAULT", "quantity": n}]` (DEFAULT = seller-fulfilled; `merge`,
  June 2025, keeps lead time and restock date as they are);
- price: `replace` on `/attributes/purchasable_offer` with `[{"marketplace_id", "currency",
  "audience": "ALL", "our_price": [{"schedule": [{"value_with_tax": 9.99}]}]}]`.
A patch answer is `{sku, status: ACCEPTED|INVALID|VALID, submissionId, issues[{code, message,
severity}]}`; ACCEPTED means accepted for asynchronous processing (ListingsItemSubmissionResponse).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from amazon_connector.protocol.api import DEFAULT_PRODUCT_TYPE
from amazon_connector.protocol.values import ListingView, RemoteProductData, Submission
from omnistock_common.egress import safe_code, safe_text
from omnistock_common.money import MoneyError, from_minor

QUANTITY_PATH = "/attributes/fulfillment_availability"
OFFER_PATH = "/attributes/purchasable_offer"
SELLER_FULFILLED = "DEFAULT"


def quantity_patch(quantity: int) -> dict[str, Any]:
    """Available-to-sell below zero means "none" to a channel."""
    return {
        "op": "merge",
        "path": QUANTITY_PATH,
        "value": [{"fulfillment_channel_code": SELLER_FULFILLED, "quantity": max(0, int(quantity))}],
    }


def price_value(amount_minor: int, currency: str) -> float:
    """value_with_tax is a JSON number: the exact decimal of the minor units (e.g. 19.99)."""
    return float(Decimal(from_minor(amount_minor, currency)))


def price_patch(marketplace_id: str, amount_minor: int, currency: str) -> dict[str, Any]:
    return {
        "op": "replace",
        "path": OFFER_PATH,
        "value": [
            {
                "marketplace_id": marketplace_id,
                "currency": currency,
                "audience": "ALL",
                "our_price": [{"schedule": [{"value_with_tax": price_value(amount_minor, currency)}]}],
            }
        ],
    }


def price_problem(currency: str, marketplace_currency: str, amount_minor: int) -> str:
    if marketplace_currency and currency != marketplace_currency:
        return f"price is in {currency}, the marketplace sells in {marketplace_currency}"
    if amount_minor < 0:
        return "price must not be negative"
    try:
        from_minor(amount_minor, currency)
    except MoneyError:
        return f"unsupported currency {currency!r}"
    return ""


def product_type(ids: Mapping[str, str]) -> str:
    return ids.get("product_type") or DEFAULT_PRODUCT_TYPE


def patch_body(ids: Mapping[str, str], patches: list[dict[str, Any]]) -> dict[str, Any]:
    return {"productType": product_type(ids), "patches": patches}


def issues_text(issues: Any, limit: int = 300) -> str:
    """The ERROR issues' messages (remote text, cleaned and bounded)."""
    if not isinstance(issues, list):
        return ""
    messages = [
        f"{i.get('code')}: {i.get('message')}" if i.get("code") else str(i.get("message") or "")
        for i in issues
        if isinstance(i, dict) and str(i.get("severity", "ERROR")).upper() == "ERROR"
    ]
    return safe_text("; ".join(m for m in messages if m), limit)


def submission(sku: str, body: Any) -> Submission:
    """A patch answer: ACCEPTED (or VALID) and no ERROR issue is accepted; INVALID is refused."""
    if not isinstance(body, dict):
        return Submission(sku, False, "malformed patchListingsItem answer")
    status = str(body.get("status") or "").upper()
    problem = issues_text(body.get("issues"))
    if status in ("ACCEPTED", "VALID") and not problem:
        return Submission(sku, True, asin=_submitted_asin(body.get("identifiers")))
    return Submission(sku, False, problem or f"Amazon answered {safe_code(status) or 'no status'}")


def _submitted_asin(identifiers: Any) -> str:
    """ListingsItemSubmissionResponse.identifiers (ItemIdentifiers: [{marketplaceId, asin}])."""
    for entry in identifiers if isinstance(identifiers, list) else []:
        if isinstance(entry, dict) and entry.get("asin"):
            return safe_code(str(entry["asin"]))
    return ""


def listing_view(body: Any, marketplace_id: str) -> ListingView | None:
    """Quantity (seller-fulfilled) and B2C price in `marketplace_id` of an Item; None if malformed."""
    if not isinstance(body, dict) or not body.get("sku"):
        return None
    quantity = None
    for entry in body.get("fulfillmentAvailability") or []:
        if isinstance(entry, dict) and entry.get("fulfillmentChannelCode") == SELLER_FULFILLED:
            value = entry.get("quantity")
            quantity = int(value) if isinstance(value, int) and not isinstance(value, bool) else 0
    price, currency = None, ""
    for offer in body.get("offers") or []:
        if not isinstance(offer, dict) or offer.get("offerType", "B2C") != "B2C":
            continue
        if marketplace_id and offer.get("marketplaceId") not in (None, marketplace_id):
            continue
        money = offer.get("price") or {}
        price, currency = str(money.get("amount") or ""), safe_code(str(money.get("currencyCode") or ""))
        break
    return ListingView(str(body["sku"]), quantity, price or None, currency[:3])


def remote_product(body: Mapping[str, Any], seller_id: str, marketplace_id: str) -> RemoteProductData | None:
    """A searchListingsItems item → RemoteProductData with ids {seller_id, sku, asin?, product_type?}."""
    sku = body.get("sku")
    if not isinstance(sku, str) or not sku:
        return None
    summaries = [s for s in body.get("summaries") or [] if isinstance(s, dict)]
    summary = next(
        (s for s in summaries if s.get("marketplaceId") == marketplace_id), summaries[0] if summaries else {}
    )
    ids = {"seller_id": seller_id, "sku": sku}
    if summary.get("asin"):
        ids["asin"] = safe_code(str(summary["asin"]))
    if summary.get("productType"):
        ids["product_type"] = safe_code(str(summary["productType"]))
    view = listing_view(body, marketplace_id)
    quantity = view.quantity if view is not None and view.quantity is not None else 0
    return RemoteProductData(sku, safe_text(str(summary.get("itemName") or sku), 255), ids, quantity)
