"""The eBay REST routes a connector calls besides OAuth: Sell Inventory v1 (inventory items,
offers, bulkUpdatePriceQuantity), Commerce Identity v1 (getUser) and Commerce Notification v1
(getPublicKey); orders are in fulfillment.py. `api_guard` counts each call, answers throttling and
armed faults, then checks the Bearer token (401 errorId 1001 once expired, CHANNELS.md 6.1).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, Response, request

from channel_sandboxes.common import json_response
from channel_sandboxes.ebay.sandbox import SIGNING_KID, EbaySandbox, ebay_error
from channel_sandboxes.ebay.state import Listing, money, now_utc

Handler = Callable[..., Response]
SCOPE = "https://api.ebay.com/oauth/api_scope"
INVENTORY_SCOPE = f"{SCOPE}/sell.inventory"
IDENTITY_SCOPE = f"{SCOPE}/commerce.identity.readonly"
MAX_BULK = 25
# eBay's REST id for the per-listing daily revision cap is not in the contracts we read; the
# sandbox answers the Inventory API's generic user-error id with eBay's own words.
REVISION_CAP_ERROR_ID = 25002
REVISION_CAP_MESSAGE = "This listing has been revised up to 250 times in one calendar day; it cannot be revised until the next calendar day."


def api_guard(sandbox: EbaySandbox) -> Callable[..., Callable[[Handler], Handler]]:
    def api(
        operation: str, scope: str | None, *, application: bool = False, iaf: bool = False
    ) -> Callable[[Handler], Handler]:
        def decorate(handler: Handler) -> Handler:
            @wraps(handler)
            def wrapper(**kwargs: Any) -> Response:
                sandbox.stats.record([operation])
                with sandbox.state.lock:
                    throttled = sandbox.state.throttle_remaining > 0
                    if throttled:
                        sandbox.state.throttle_remaining -= 1
                if throttled:
                    sandbox.stats.bump("throttled")
                    return ebay_error(
                        429,
                        2001,
                        "Too many requests. The request limit has been reached for the resource.",
                        domain="API",
                        headers={"Retry-After": "1"},
                    )
                fault = sandbox.faults.take([operation])
                if fault is not None:
                    sandbox.stats.bump("throttled" if fault.kind == "throttle" else "faulted")
                    headers = (
                        {"Retry-After": str(int(fault.retry_after))} if fault.retry_after is not None else {}
                    )
                    return ebay_error(
                        fault.status,
                        2001 if fault.status == 429 else 10001,
                        "Sandbox fault",
                        domain="API",
                        headers=headers,
                    )
                denied = _authenticate(sandbox, scope, application, iaf)
                if denied is not None:
                    sandbox.stats.bump("unauthorized")
                    return denied
                return handler(**kwargs)

            return wrapper

        return decorate

    return api


def _authenticate(sandbox: EbaySandbox, scope: str | None, application: bool, iaf: bool) -> Response | None:
    """Bearer <token>; the Post-Order API takes an OAuth token as "IAF <token>" only."""
    header = request.headers.get("Authorization", "")
    prefix = "IAF " if iaf else "Bearer "
    token = header[len(prefix) :] if header.startswith(prefix) else ""
    with sandbox.state.lock:
        grant = sandbox.state.access.get(token)
    if grant is None or (grant.expires_at is not None and grant.expires_at <= now_utc()):
        return ebay_error(401, 1001, "Invalid access token", domain="OAuth")
    if application:
        return None  # getPublicKey: an application token (client_credentials) will do
    if grant.kind != "user":
        return ebay_error(403, 1100, "Access denied: a user token is required", domain="OAuth")
    if scope and scope not in grant.scopes:
        return ebay_error(
            403, 1100, "Access denied: Insufficient permissions to fulfill the request.", domain="OAuth"
        )
    return None


def item_json(x: Listing) -> dict[str, Any]:
    product: dict[str, Any] = {**x.product_extra, "title": x.title}
    if x.description:
        product["description"] = x.description
    if x.image_urls:
        product["imageUrls"] = list(x.image_urls)
    if x.aspects:
        product["aspects"] = dict(x.aspects)
    body: dict[str, Any] = {
        "sku": x.sku,
        "locale": "en_US",
        "product": product,
        "condition": x.condition,
        "availability": {"shipToLocationAvailability": {"quantity": x.quantity}},
    }
    if x.group_key:
        body["groupIds"] = [x.group_key]
    if x.package:
        body["packageWeightAndSize"] = x.package
    return body


def offer_json(x: Listing, marketplace: str, currency: str) -> dict[str, Any]:
    pricing: dict[str, Any] = {"price": {"value": x.price, "currency": currency}}
    if x.original_price:
        pricing["originalRetailPrice"] = {"value": x.original_price, "currency": currency}
    body = {
        **x.offer_fields,
        "offerId": x.offer_id,
        "sku": x.sku,
        "marketplaceId": marketplace,
        "format": "FIXED_PRICE",
        "availableQuantity": x.listed if x.available_quantity is None else x.available_quantity,
        "pricingSummary": pricing,
        "status": x.offer_status,
    }
    if x.published:  # the listing container comes with a published offer only
        body["listing"] = {"listingId": x.listing_id, "listingStatus": "ACTIVE"}
    return body


def _int_arg(name: str, default: int, low: int, high: int) -> int | None:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if low <= value <= high else None


def register_api_routes(app: Flask, sandbox: EbaySandbox) -> None:
    api = api_guard(sandbox)
    cfg, state = sandbox.config, sandbox.state

    @app.get("/commerce/identity/v1/user/")
    @api("getUser", IDENTITY_SCOPE)
    def get_user() -> Response:
        return json_response(
            {
                "userId": cfg.user_id,
                "username": cfg.username,
                "accountType": "INDIVIDUAL",
                "registrationMarketplaceId": cfg.marketplace_id,
            }
        )

    @app.get("/commerce/notification/v1/public_key/<kid>")
    @api("getPublicKey", None, application=True)
    def get_public_key(kid: str) -> Response:
        if kid != SIGNING_KID:
            return ebay_error(404, 195000, "Resource not found: public key", domain="API_NOTIFICATION")
        return json_response(sandbox.public_key())

    @app.get("/sell/inventory/v1/inventory_item")
    @api("getInventoryItems", INVENTORY_SCOPE)
    def get_inventory_items() -> Response:
        limit, offset = _int_arg("limit", 25, 1, 200), _int_arg("offset", 0, 0, 10**9)
        if limit is None or offset is None:
            return ebay_error(400, 25709, "Invalid value for limit or offset")
        with state.lock:
            items = list(state.listings.values())
            page = [item_json(x) for x in items[offset : offset + limit]]
        body: dict[str, Any] = {
            "href": request.full_path,
            "total": len(items),
            "size": len(page),
            "limit": limit,
            "inventoryItems": page,
        }
        if offset + limit < len(items):
            body["next"] = f"/sell/inventory/v1/inventory_item?limit={limit}&offset={offset + limit}"
        return json_response(body)

    @app.get("/sell/inventory/v1/inventory_item/<path:sku>")
    @api("getInventoryItem", INVENTORY_SCOPE)
    def get_inventory_item(sku: str) -> Response:
        with state.lock:
            listing = state.listings.get(sku)
            if listing is None:
                return ebay_error(404, 25710, "We didn't find the entity you are requesting.")
            return json_response(item_json(listing))

    @app.get("/sell/inventory/v1/offer")
    @api("getOffers", INVENTORY_SCOPE)
    def get_offers() -> Response:
        marketplace = request.args.get("marketplace_id") or cfg.marketplace_id
        with state.lock:
            listing = state.listings.get(request.args.get("sku", ""))
            if listing is None or not listing.offer_id or marketplace != cfg.marketplace_id:
                return ebay_error(404, 25713, "This Offer is not available.")
            return json_response(
                {"total": 1, "size": 1, "offers": [offer_json(listing, cfg.marketplace_id, cfg.currency)]}
            )

    @app.post("/sell/inventory/v1/bulk_update_price_quantity")
    @api("bulkUpdatePriceQuantity", INVENTORY_SCOPE)
    def bulk_update_price_quantity() -> Response:
        body = request.get_json(silent=True)
        requests_ = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests_, list) or not requests_:
            return ebay_error(400, 25709, "The requests container is missing or empty.")
        if len(requests_) > MAX_BULK:
            return ebay_error(400, 25709, f"The number of requests exceeds the maximum of {MAX_BULK}.")
        responses = _apply_bulk(sandbox, requests_)
        ok = all(r["statusCode"] == 200 for r in responses)
        return json_response({"responses": responses}, 200 if ok else 207)


def _apply_bulk(sandbox: EbaySandbox, entries: list[Any]) -> list[dict[str, Any]]:
    """Each entry revises its listing once (one revision whatever it changes); the 251st revision
    of a listing today is refused per item."""
    state, moment, out = sandbox.state, now_utc(), []
    with state.lock:
        for entry in entries:
            entry = entry if isinstance(entry, dict) else {}
            offers = [o for o in entry.get("offers") or [] if isinstance(o, dict)]
            sku = str(entry.get("sku") or "")
            listing = state.listings.get(sku) if sku else None
            if listing is None and offers:
                listing = state.by_offer(str(offers[0].get("offerId") or ""))
            ship_to = entry.get("shipToLocationAvailability")
            offer_id = str(offers[0].get("offerId") or "") if offers else ""
            response: dict[str, Any] = {"statusCode": 200, "sku": listing.sku if listing else sku}
            if offer_id:
                response["offerId"] = offer_id
            if listing is None or (offer_id and (offer_id != listing.offer_id or not listing.published)):
                out.append(
                    {
                        **response,
                        "statusCode": 404,
                        "errors": [{"errorId": 25713, "message": "This Offer is not available."}],
                    }
                )
                continue
            if ship_to is not None and not sku:
                out.append(
                    {
                        **response,
                        "statusCode": 400,
                        "errors": [
                            {"errorId": 25709, "message": "sku is required with shipToLocationAvailability"}
                        ],
                    }
                )
                continue
            if listing.published and not state.spend_revision(listing.listing_id, moment):
                out.append(
                    {
                        **response,
                        "statusCode": 400,
                        "errors": [{"errorId": REVISION_CAP_ERROR_ID, "message": REVISION_CAP_MESSAGE}],
                    }
                )
                continue
            try:
                if isinstance(ship_to, dict) and "quantity" in ship_to:
                    listing.quantity = max(0, int(ship_to["quantity"]))
                for offer in offers:
                    if "availableQuantity" in offer:
                        listing.available_quantity = max(0, int(offer["availableQuantity"]))
                    if isinstance(offer.get("price"), dict):
                        if offer["price"].get("currency") not in (None, sandbox.config.currency):
                            raise ValueError("currency does not match the marketplace")
                        listing.price = money(offer["price"].get("value"))
                        listing.price_writes += 1
            except (TypeError, ValueError) as exc:
                out.append(
                    {
                        **response,
                        "statusCode": 400,
                        "errors": [{"errorId": 25709, "message": f"Invalid value: {exc}"}],
                    }
                )
                continue
            state.note_listed(listing)
            out.append(response)
    return out
