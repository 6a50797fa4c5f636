"""Listings Items API 2021-08-01 and Sellers API v1, as the sandbox serves them.

- `GET /listings/2021-08-01/items/{sellerId}/{sku}?marketplaceIds&includedData` (getListingsItem)
- `PATCH /listings/2021-08-01/items/{sellerId}/{sku}?marketplaceIds[&mode=VALIDATION_PREVIEW]`
  {productType, patches} → 200 {sku, status ACCEPTED|INVALID|VALID, submissionId, issues}
- `PUT /listings/2021-08-01/items/{sellerId}/{sku}?marketplaceIds[&mode=VALIDATION_PREVIEW]`
  {productType, requirements, attributes} (putListingsItem, catalog.py) → 200 {sku, status,
  submissionId, issues, identifiers[{marketplaceId, asin}]}
- `DELETE /listings/2021-08-01/items/{sellerId}/{sku}?marketplaceIds` (deleteListingsItem)
- `GET /listings/2021-08-01/items/{sellerId}?marketplaceIds&includedData&pageSize(≤20)&pageToken
  [&identifiers&identifiersType=SKU | &variationParentSku]` (searchListingsItems) → {numberOfResults,
  pagination, items}
- `GET /sellers/v1/marketplaceParticipations` → {payload: [{marketplace, participation}]}
Source: amzn/selling-partner-api-models models/listings-items-api-model/listingsItems_2021-08-01.json,
models/sellers-api-model/sellers.json.
"""

from __future__ import annotations

import uuid

from flask import Flask, Response, request

from channel_sandboxes.amazon.catalog import delete_issues, put_issues
from channel_sandboxes.amazon.sandbox import AmazonSandbox, sp_error
from channel_sandboxes.amazon.state import MARKETPLACES
from channel_sandboxes.common import decode_cursor, encode_cursor, json_response

INCLUDED_DATA = {
    "summaries",
    "attributes",
    "issues",
    "offers",
    "fulfillmentAvailability",
    "procurement",
    "relationships",
    "productTypes",
}
LISTINGS = "/listings/2021-08-01/items"
MAX_PAGE_SIZE = 20
MAX_IDENTIFIERS = 20


def _included() -> set[str] | None:
    raw = request.args.get("includedData", "summaries")
    wanted = {part for part in raw.split(",") if part}
    return wanted if wanted <= INCLUDED_DATA else None


def register_listings_routes(app: Flask, sandbox: AmazonSandbox) -> None:
    state = sandbox.state

    @app.get(f"{LISTINGS}/<seller_id>/<path:sku>")
    @sandbox.api("getListingsItem")
    def get_item(seller_id: str, sku: str) -> Response:
        refused = sandbox.check_listings_call(seller_id)
        if refused is not None:
            return refused
        included = _included()
        if included is None:
            return sp_error(400, "InvalidInput", "Invalid 'includedData' provided.")
        with state.lock:
            listing = state.listings.get(sku)
            if listing is None:
                return sp_error(
                    404, "NOT_FOUND", f"SKU '{sku}' not found in marketplace {state.marketplace_id}"
                )
            return json_response(state.listing_json(listing, included))

    @app.patch(f"{LISTINGS}/<seller_id>/<path:sku>")
    @sandbox.api("patchListingsItem")
    def patch_item(seller_id: str, sku: str) -> Response:
        refused = sandbox.check_listings_call(seller_id)
        if refused is not None:
            return refused
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not body.get("productType") or "patches" not in body:
            return sp_error(400, "InvalidInput", "Request body requires 'productType' and 'patches'.")
        preview = request.args.get("mode") == "VALIDATION_PREVIEW"
        with state.lock:
            issues = state.patch_issues(sku, body["patches"], apply=not preview)
        errors = any(i["severity"] == "ERROR" for i in issues)
        status = "INVALID" if errors else ("VALID" if preview else "ACCEPTED")
        return json_response(
            {"sku": sku, "status": status, "submissionId": uuid.uuid4().hex, "issues": issues}
        )

    @app.put(f"{LISTINGS}/<seller_id>/<path:sku>")
    @sandbox.api("putListingsItem")
    def put_item(seller_id: str, sku: str) -> Response:
        refused = sandbox.check_listings_call(seller_id)
        if refused is not None:
            return refused
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not body.get("productType") or "attributes" not in body:
            return sp_error(400, "InvalidInput", "Request body requires 'productType' and 'attributes'.")
        preview = request.args.get("mode") == "VALIDATION_PREVIEW"
        requirements = str(body.get("requirements") or "LISTING")
        with state.lock:
            issues = put_issues(
                state, sku, str(body["productType"]), requirements, body["attributes"], apply=not preview
            )
            listing = state.listings.get(sku)
            asin = listing.asin if listing is not None and not issues else ""
        errors = any(i["severity"] == "ERROR" for i in issues)
        status = "INVALID" if errors else ("VALID" if preview else "ACCEPTED")
        answer: dict = {"sku": sku, "status": status, "submissionId": uuid.uuid4().hex, "issues": issues}
        if asin:
            answer["identifiers"] = [{"marketplaceId": state.marketplace_id, "asin": asin}]
        return json_response(answer)

    @app.delete(f"{LISTINGS}/<seller_id>/<path:sku>")
    @sandbox.api("deleteListingsItem")
    def delete_item(seller_id: str, sku: str) -> Response:
        refused = sandbox.check_listings_call(seller_id)
        if refused is not None:
            return refused
        with state.lock:
            issues = delete_issues(state, sku)
        status = "INVALID" if issues else "ACCEPTED"
        return json_response(
            {"sku": sku, "status": status, "submissionId": uuid.uuid4().hex, "issues": issues}
        )

    @app.get(f"{LISTINGS}/<seller_id>")
    @sandbox.api("searchListingsItems")
    def search_items(seller_id: str) -> Response:
        refused = sandbox.check_listings_call(seller_id)
        if refused is not None:
            return refused
        included = _included()
        if included is None:
            return sp_error(400, "InvalidInput", "Invalid 'includedData' provided.")
        try:
            size = int(request.args.get("pageSize", "10"))
        except ValueError:
            size = 0
        if not 1 <= size <= MAX_PAGE_SIZE:
            return sp_error(400, "InvalidInput", f"'pageSize' must be between 1 and {MAX_PAGE_SIZE}.")
        identifiers = [i for i in request.args.get("identifiers", "").split(",") if i]
        kind = request.args.get("identifiersType", "")
        if bool(identifiers) != bool(kind) or len(identifiers) > MAX_IDENTIFIERS:
            return sp_error(
                400, "InvalidInput", "'identifiers' (at most 20) and 'identifiersType' go together."
            )
        if kind and kind not in ("SKU", "ASIN"):
            return sp_error(400, "InvalidInput", f"'identifiersType' {kind} is not supported by the sandbox.")
        parent = request.args.get("variationParentSku", "")
        if parent and identifiers:
            return sp_error(
                400, "InvalidInput", "'variationParentSku' cannot be combined with 'identifiers'."
            )
        token = request.args.get("pageToken", "")
        after = ""
        if token:
            decoded = decode_cursor(token)
            if not decoded or not isinstance(decoded[0], str):
                return sp_error(400, "InvalidInput", "Invalid 'pageToken' provided.")
            after = decoded[0]
        with state.lock:
            # Sorted by SKU (Amazon's default is lastUpdatedDate DESC): stable pages for tests.
            listings = sorted(state.listings.values(), key=lambda item: item.sku)
            if identifiers:
                wanted = set(identifiers)
                listings = [x for x in listings if (x.sku if kind == "SKU" else x.asin) in wanted]
            if parent:
                listings = [x for x in listings if x.parent_sku == parent]
            total = len(listings)
            rest = [x for x in listings if x.sku > after] if after else listings
            page = rest[:size]
            body: dict = {"numberOfResults": total, "items": [state.listing_json(x, included) for x in page]}
        if len(rest) > size:
            body["pagination"] = {"nextToken": encode_cursor(page[-1].sku)}
        return json_response(body)

    @app.get("/sellers/v1/marketplaceParticipations")
    @sandbox.api("getMarketplaceParticipations")
    def participations() -> Response:
        payload = []
        for marketplace_id in state.marketplace_ids:
            country, currency, domain = MARKETPLACES[marketplace_id]
            payload.append(
                {
                    "marketplace": {
                        "id": marketplace_id,
                        "countryCode": country,
                        "name": domain,
                        "defaultCurrencyCode": currency,
                        "defaultLanguageCode": "en_US",
                        "domainName": domain.lower(),
                    },
                    "participation": {"isParticipating": True, "hasSuspendedListings": False},
                    "storeName": "OmniStock Sandbox Store",
                }
            )
        return json_response({"payload": payload})
