"""Sell Fulfillment v1 routes: getOrders and createShippingFulfillment (contract 1.11.0,
CHANNELS.md 6.3).

getOrders: `filter=lastmodifieddate:[a..b]` or `creationdate:[a..b]` (b optional; creationdate
wins when both are given), the brackets percent-encoded: the sandbox refuses raw brackets in the
query string, which is what CHANNELS.md 7 suggests a fake do ([?] on eBay's side); limit 1..1000
(default 50), offset 0-based, `next` while more remain.
createShippingFulfillment: 201 with Location …/shipping_fulfillment/{fulfillmentId}.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from flask import Flask, Response, request

from channel_sandboxes.common import json_response
from channel_sandboxes.ebay.api import api_guard
from channel_sandboxes.ebay.sandbox import EbaySandbox, ebay_error
from channel_sandboxes.ebay.state import Fulfillment, Order, ebay_iso, now_utc

FULFILLMENT_SCOPE = "https://api.ebay.com/oauth/api_scope/sell.fulfillment"
DOMAIN = "API_FULFILLMENT"


def _parse_time(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def parse_filter(raw: str) -> tuple[str, datetime | None, datetime | None] | str:
    """(field, from, to) of a decoded filter value, or why not."""
    ranges: dict[str, tuple[datetime | None, datetime | None]] = {}
    for part in raw.split(","):
        name, _, value = part.strip().partition(":")
        if name not in ("lastmodifieddate", "creationdate"):
            continue
        if not (value.startswith("[") and value.endswith("]") and ".." in value):
            return f"invalid {name} range"
        low, _, high = value[1:-1].partition("..")
        start, end = _parse_time(low) if low else None, _parse_time(high) if high else None
        if (low and start is None) or (high and end is None):
            return f"invalid {name} timestamp"
        ranges[name] = (start, end)
    if "creationdate" in ranges:
        return ("creationdate", *ranges["creationdate"])
    if "lastmodifieddate" in ranges:
        return ("lastmodifieddate", *ranges["lastmodifieddate"])
    return ("", None, None)


def _raw_query() -> str:
    return request.environ.get("QUERY_STRING", "")


def register_fulfillment_routes(app: Flask, sandbox: EbaySandbox) -> None:
    api = api_guard(sandbox)
    state = sandbox.state

    @app.get("/sell/fulfillment/v1/order")
    @api("getOrders", FULFILLMENT_SCOPE)
    def get_orders() -> Response:
        raw = _raw_query()
        if "[" in raw or "]" in raw or "{" in raw or "}" in raw:
            return ebay_error(
                400, 30700, "The filter value has characters that must be URL-encoded.", domain=DOMAIN
            )
        try:
            limit = int(request.args.get("limit", "50"))
            offset = int(request.args.get("offset", "0"))
        except ValueError:
            return ebay_error(400, 30700, "Invalid limit or offset.", domain=DOMAIN)
        if not 1 <= limit <= 1000 or offset < 0:
            return ebay_error(400, 30700, "limit must be 1..1000 and offset ≥ 0.", domain=DOMAIN)
        parsed = parse_filter(unquote(request.args.get("filter", "")) if "filter" in request.args else "")
        if isinstance(parsed, str):
            return ebay_error(400, 30700, f"Invalid filter: {parsed}", domain=DOMAIN)
        field, start, end = parsed
        with state.lock:
            orders = sorted(state.orders.values(), key=lambda o: (o.created, o.order_id))

            def keep(order: Order) -> bool:
                moment = order.created if field == "creationdate" else order.modified
                return (start is None or moment >= start) and (end is None or moment <= end)

            chosen = [o for o in orders if not field or keep(o)]
            page = [o.to_api() for o in chosen[offset : offset + limit]]
        body: dict[str, Any] = {
            "href": request.full_path,
            "total": len(chosen),
            "limit": limit,
            "offset": offset,
            "orders": page,
        }
        if offset + limit < len(chosen):
            query = (
                raw.replace(f"offset={offset}", f"offset={offset + limit}")
                if f"offset={offset}" in raw
                else f"{raw}&offset={offset + limit}"
            )
            body["next"] = f"/sell/fulfillment/v1/order?{query}"
        if offset > 0:
            body["prev"] = f"/sell/fulfillment/v1/order?limit={limit}&offset={max(0, offset - limit)}"
        return json_response(body)

    @app.get("/sell/fulfillment/v1/order/<order_id>")
    @api("getOrder", FULFILLMENT_SCOPE)
    def get_order(order_id: str) -> Response:
        with state.lock:
            order = state.orders.get(order_id)
            if order is None:
                return ebay_error(404, 32100, "Invalid order ID.", domain=DOMAIN)
            return json_response(order.to_api())

    @app.post("/sell/fulfillment/v1/order/<order_id>/shipping_fulfillment")
    @api("createShippingFulfillment", FULFILLMENT_SCOPE)
    def create_shipping_fulfillment(order_id: str) -> Response:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return ebay_error(400, 32100, "The request body is not valid JSON.", domain=DOMAIN)
        lines = body.get("lineItems")
        if not isinstance(lines, list) or not lines:
            return ebay_error(400, 32100, "lineItems is required.", domain=DOMAIN)
        with state.lock:
            order = state.orders.get(order_id)
            if order is None:
                return ebay_error(404, 32100, "Invalid order ID.", domain=DOMAIN)
            by_id = {line["lineItemId"]: line for line in order.lines}
            for line in lines:
                target = (
                    by_id.get(str((line or {}).get("lineItemId") or "")) if isinstance(line, dict) else None
                )
                quantity = line.get("quantity") if isinstance(line, dict) else None
                if target is None or not isinstance(quantity, int) or quantity < 1:
                    return ebay_error(400, 32100, "Invalid lineItemId or quantity.", domain=DOMAIN)
                if target["shipped"] + quantity > target["quantity"]:
                    return ebay_error(400, 32100, "The quantity exceeds what is left to ship.", domain=DOMAIN)
            for line in lines:
                by_id[str(line["lineItemId"])]["shipped"] += int(line["quantity"])
            fulfillment_id = f"{secrets.randbelow(9 * 10**11) + 10**11}"
            order.fulfillments.append(
                Fulfillment(
                    fulfillment_id,
                    str(body.get("shippingCarrierCode") or ""),
                    str(body.get("trackingNumber") or ""),
                    str(body.get("shippedDate") or ebay_iso(now_utc())),
                    [{"lineItemId": str(x["lineItemId"]), "quantity": int(x["quantity"])} for x in lines],
                )
            )
            order.modified = now_utc()
        location = f"{request.host_url.rstrip('/')}/sell/fulfillment/v1/order/{order_id}/shipping_fulfillment/{fulfillment_id}"
        return json_response({}, 201, {"Location": location})
