"""Sell Inventory v1 listing creation in the eBay sandbox: createOrReplaceInventoryItem,
get/createOrReplaceInventoryItemGroup, createOffer, updateOffer, publishOffer,
publishOfferByInventoryItemGroup, withdrawOffer, withdrawOfferByInventoryItemGroup
(https://developer.ebay.com/api-docs/sell/inventory/resources/methods).

As eBay: the create/replace calls need a Content-Language header and replace the whole record;
createOffer needs sku, marketplaceId and format, and one offer per SKU and marketplace; publishing
checks the fields eBay requires to list
(https://developer.ebay.com/api-docs/sell/static/inventory/publishing-offers.html) and answers the
first missing one; publishing gives a listingId the bulkUpdatePriceQuantity revision counting uses
(one listing per group). A replace of a live item, offer or group spends one revision of its listing
(the 251st is refused). The error ids are the sandbox's choice where eBay's were not read [M].
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request

from channel_sandboxes.common import json_response
from channel_sandboxes.ebay.api import INVENTORY_SCOPE, REVISION_CAP_ERROR_ID, REVISION_CAP_MESSAGE, api_guard
from channel_sandboxes.ebay.sandbox import EbaySandbox, ebay_error
from channel_sandboxes.ebay.state import Group, Listing, money, now_utc

INVALID = 25709  # eBay's "Invalid value for {fieldName}" id, used for every malformed field here
NOT_FOUND = 25710
OFFER_EXISTS = 25002
MISSING_FOR_PUBLISH = 25002
GROUP_NOT_FOUND = 25725
CONDITIONS = {
    "NEW",
    "LIKE_NEW",
    "NEW_OTHER",
    "NEW_WITH_DEFECTS",
    "USED_EXCELLENT",
    "USED_GOOD",
    "USED_ACCEPTABLE",
}
MAX_SKU, MAX_TITLE = 50, 80
POLICIES = ("fulfillmentPolicyId", "paymentPolicyId", "returnPolicyId")


def _body() -> dict[str, Any] | None:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else None


def _write_body() -> tuple[dict[str, Any], Response | None]:
    """A write call's JSON body, or eBay's refusal: the four writes need a Content-Language header
    and a JSON object."""
    if not request.headers.get("Content-Language"):
        return {}, ebay_error(400, INVALID, "Invalid value for header Content-Language.")
    body = _body()
    if body is None:
        return {}, ebay_error(400, INVALID, "The request body is not valid JSON.")
    return body, None


def _strings(value: Any) -> list[str] | None:
    return [str(v) for v in value] if isinstance(value, list) else None


def publish_problem(x: Listing) -> str:
    """The first field eBay requires to list that this SKU's item or offer lacks, "" if none."""
    fields = x.offer_fields
    policies = fields.get("listingPolicies") or {}
    checks = [
        ("product.title", bool(x.title)),
        ("product.description", bool(x.description)),
        ("product.imageUrls", bool(x.image_urls)),
        ("categoryId", bool(fields.get("categoryId"))),
        ("merchantLocationKey", bool(fields.get("merchantLocationKey"))),
        *((f"listingPolicies.{name}", bool(policies.get(name))) for name in POLICIES),
        ("pricingSummary.price", money_or_none(x.price) not in (None, "0.00")),
    ]
    return next((name for name, ok in checks if not ok), "")


def money_or_none(value: Any) -> str | None:
    try:
        return money(value)
    except ValueError:
        return None


def register_listing_routes(app: Flask, sandbox: EbaySandbox) -> None:
    api = api_guard(sandbox)
    cfg, state = sandbox.config, sandbox.state

    def revise(x: Listing) -> bool:
        """A replace of something live revises its listing once; False at the day's cap."""
        return not x.published or state.spend_revision(x.listing_id, now_utc())

    def capped() -> Response:
        return ebay_error(400, REVISION_CAP_ERROR_ID, REVISION_CAP_MESSAGE)

    @app.put("/sell/inventory/v1/inventory_item/<path:sku>")
    @api("createOrReplaceInventoryItem", INVENTORY_SCOPE)
    def put_item(sku: str) -> Response:
        body, refused = _write_body()
        if refused is not None:
            return refused
        product = body.get("product") if isinstance(body.get("product"), dict) else {}
        title, condition = str(product.get("title") or ""), str(body.get("condition") or "NEW")
        quantity = ((body.get("availability") or {}).get("shipToLocationAvailability") or {}).get(
            "quantity", 0
        )
        images = _strings(product.get("imageUrls", []))
        aspects = product.get("aspects", {})
        if len(sku) > MAX_SKU or not sku:
            return ebay_error(400, INVALID, "Invalid value for sku.", parameters={"fieldName": "sku"})
        if len(title) > MAX_TITLE:
            return ebay_error(
                400, INVALID, "Invalid value for product.title.", parameters={"fieldName": "title"}
            )
        if condition not in CONDITIONS:
            return ebay_error(
                400, INVALID, "Invalid value for condition.", parameters={"fieldName": "condition"}
            )
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0:
            return ebay_error(
                400, INVALID, "Invalid value for availability.shipToLocationAvailability.quantity."
            )
        if images is None or not all(u.startswith(("https://", "http://")) for u in images):
            return ebay_error(400, INVALID, "Invalid value for product.imageUrls.")
        if not isinstance(aspects, dict):
            return ebay_error(400, INVALID, "Invalid value for product.aspects.")
        with state.lock:
            x = state.listings.get(sku)
            if x is None:
                x = Listing(sku, title, quantity, None, "0.00", "", "", offer_status="")
                state.listings[sku] = x
            elif not revise(x):
                return capped()
            x.title, x.quantity, x.condition = title, quantity, condition
            x.description, x.image_urls = str(product.get("description") or ""), images
            x.aspects = {str(k): _strings(v) or [str(v)] for k, v in aspects.items()}
            keep = ("title", "description", "imageUrls", "aspects")
            x.product_extra = {k: v for k, v in product.items() if k not in keep}
            x.package = (
                body.get("packageWeightAndSize")
                if isinstance(body.get("packageWeightAndSize"), dict)
                else None
            )
            state.note_listed(x)
        return Response(status=204)

    @app.get("/sell/inventory/v1/inventory_item_group/<key>")
    @api("getInventoryItemGroup", INVENTORY_SCOPE)
    def get_group(key: str) -> Response:
        with state.lock:
            group = state.groups.get(key)
            if group is None:
                return ebay_error(404, GROUP_NOT_FOUND, "Inventory item group not found.")
            return json_response(group.to_api())

    @app.put("/sell/inventory/v1/inventory_item_group/<key>")
    @api("createOrReplaceInventoryItemGroup", INVENTORY_SCOPE)
    def put_group(key: str) -> Response:
        body, refused = _write_body()
        if refused is not None:
            return refused
        skus = _strings(body.get("variantSKUs"))
        specs = (body.get("variesBy") or {}).get("specifications")
        if not skus:
            return ebay_error(
                400, INVALID, "variantSKUs is required.", parameters={"fieldName": "variantSKUs"}
            )
        if (
            not isinstance(specs, list)
            or not specs
            or not all(isinstance(x, dict) and x.get("name") for x in specs)
        ):
            return ebay_error(400, INVALID, "variesBy.specifications is required.")
        with state.lock:
            unknown = [s for s in skus if s not in state.listings]
            if unknown:
                return ebay_error(400, NOT_FOUND, f"Inventory item {unknown[0]} not found.")
            live = [state.listings[s] for s in skus if state.listings[s].published]
            if live and not revise(live[0]):
                return capped()
            listing_id = live[0].listing_id if live else ""
            old = state.groups.get(key)
            for sku in old.variant_skus if old else []:
                if sku not in skus and sku in state.listings:
                    state.listings[sku].group_key = ""
            state.groups[key] = Group(
                key,
                str(body.get("title") or ""),
                str(body.get("description") or ""),
                _strings(body.get("imageUrls")) or [],
                body.get("aspects") if isinstance(body.get("aspects"), dict) else {},
                skus,
                [{"name": str(x["name"]), "values": _strings(x.get("values")) or []} for x in specs],
            )
            for sku in skus:
                state.listings[sku].group_key = key
                if listing_id and state.listings[sku].published:
                    state.listings[sku].listing_id = listing_id
        return Response(status=204)

    def offer_fields(body: dict[str, Any], x: Listing) -> Response | None:
        pricing = body.get("pricingSummary") if isinstance(body.get("pricingSummary"), dict) else {}
        price = pricing.get("price")
        if price is not None:
            if not isinstance(price, dict) or money_or_none(price.get("value")) is None:
                return ebay_error(400, INVALID, "Invalid value for pricingSummary.price.")
            if price.get("currency") != cfg.currency:
                return ebay_error(
                    400, INVALID, f"The currency must be {cfg.currency} on {cfg.marketplace_id}."
                )
        original = pricing.get("originalRetailPrice")
        x.original_price = money_or_none(original.get("value")) if isinstance(original, dict) else None
        if price is not None:
            x.price = money(price["value"])
            x.price_writes += 1
        if isinstance(body.get("availableQuantity"), int):
            x.available_quantity = max(0, body["availableQuantity"])
        skip = (
            "sku",
            "marketplaceId",
            "format",
            "pricingSummary",
            "availableQuantity",
            "offerId",
            "status",
            "listing",
        )
        x.offer_fields = {k: v for k, v in body.items() if k not in skip}
        return None

    @app.post("/sell/inventory/v1/offer")
    @api("createOffer", INVENTORY_SCOPE)
    def create_offer() -> Response:
        body, refused = _write_body()
        if refused is not None:
            return refused
        for name in ("sku", "marketplaceId", "format"):
            if not body.get(name):
                return ebay_error(400, INVALID, f"{name} is required.", parameters={"fieldName": name})
        if body["marketplaceId"] != cfg.marketplace_id or body["format"] != "FIXED_PRICE":
            return ebay_error(400, INVALID, "Invalid value for marketplaceId or format.")
        with state.lock:
            x = state.listings.get(str(body["sku"]))
            if x is None:
                return ebay_error(400, NOT_FOUND, f"Inventory item {body['sku']} not found.")
            if x.offer_id:
                return ebay_error(
                    400, OFFER_EXISTS, "Offer entity already exists.", parameters={"offerId": x.offer_id}
                )
            problem = offer_fields(body, x)
            if problem is not None:
                return problem
            x.offer_id, x.offer_status = state.new_offer_id(), "UNPUBLISHED"
            return json_response({"offerId": x.offer_id}, 201)

    @app.put("/sell/inventory/v1/offer/<offer_id>")
    @api("updateOffer", INVENTORY_SCOPE)
    def update_offer(offer_id: str) -> Response:
        body, refused = _write_body()
        if refused is not None:
            return refused
        with state.lock:
            x = state.by_offer(offer_id)
            if x is None:
                return ebay_error(404, 25713, "This Offer is not available.")
            if not revise(x):
                return capped()
            problem = offer_fields(body, x)
            if problem is not None:
                return problem
            state.note_listed(x)
        return json_response({}, 200)

    @app.post("/sell/inventory/v1/offer/<offer_id>/publish")
    @api("publishOffer", INVENTORY_SCOPE)
    def publish_offer(offer_id: str) -> Response:
        with state.lock:
            x = state.by_offer(offer_id)
            if x is None:
                return ebay_error(404, 25713, "This Offer is not available.")
            if x.group_key:
                return ebay_error(400, INVALID, "This SKU is in an inventory item group: publish the group.")
            missing = publish_problem(x)
            if missing:
                return ebay_error(
                    400, MISSING_FOR_PUBLISH, f"{missing} is missing.", parameters={"fieldName": missing}
                )
            if x.published and not revise(x):
                return capped()
            if not x.published:
                x.listing_id, x.offer_status = state.new_listing_id(), "PUBLISHED"
            state.note_listed(x)
            return json_response({"listingId": x.listing_id, "warnings": []})

    @app.post("/sell/inventory/v1/offer/publish_by_inventory_item_group")
    @api("publishOfferByInventoryItemGroup", INVENTORY_SCOPE)
    def publish_group() -> Response:
        body = _body() or {}
        with state.lock:
            group = state.groups.get(str(body.get("inventoryItemGroupKey") or ""))
            if group is None or body.get("marketplaceId") != cfg.marketplace_id:
                return ebay_error(400, GROUP_NOT_FOUND, "Inventory item group not found on this marketplace.")
            members = [state.listings[s] for s in group.variant_skus if s in state.listings]
            if not any(m.offer_id for m in members):
                return ebay_error(400, MISSING_FOR_PUBLISH, "No offer in this inventory item group.")
            for m in members:
                missing = m.offer_id and publish_problem(m)
                if missing:
                    return ebay_error(
                        400,
                        MISSING_FOR_PUBLISH,
                        f"{m.sku}: {missing} is missing.",
                        parameters={"fieldName": missing},
                    )
            live = next((m.listing_id for m in members if m.published), "")
            if live and not state.spend_revision(live, now_utc()):
                return capped()
            listing_id = live or state.new_listing_id()
            for m in members:
                if m.offer_id:
                    m.listing_id, m.offer_status = listing_id, "PUBLISHED"
                    state.note_listed(m)
            return json_response({"listingId": listing_id, "warnings": []})

    @app.post("/sell/inventory/v1/offer/<offer_id>/withdraw")
    @api("withdrawOffer", INVENTORY_SCOPE)
    def withdraw_offer(offer_id: str) -> Response:
        with state.lock:
            x = state.by_offer(offer_id)
            if x is None:
                return ebay_error(404, 25713, "This Offer is not available.")
            if not x.published:
                return ebay_error(400, INVALID, "The offer is not published.")
            listing_id = x.listing_id
            x.listing_id, x.offer_status = "", "UNPUBLISHED"
            return json_response({"listingId": listing_id, "warnings": []})

    @app.post("/sell/inventory/v1/offer/withdraw_by_inventory_item_group")
    @api("withdrawOfferByInventoryItemGroup", INVENTORY_SCOPE)
    def withdraw_group() -> Response:
        body = _body() or {}
        with state.lock:
            group = state.groups.get(str(body.get("inventoryItemGroupKey") or ""))
            if group is None or body.get("marketplaceId") != cfg.marketplace_id:
                return ebay_error(400, GROUP_NOT_FOUND, "Inventory item group not found on this marketplace.")
            for sku in group.variant_skus:
                x = state.listings.get(sku)
                if x is not None and x.offer_id:
                    x.listing_id, x.offer_status = "", "UNPUBLISHED"
        return Response(status=204)
