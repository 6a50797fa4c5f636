"""Orders API v0, as the sandbox serves it (MFN orders of the sandbox seller).

- `GET /orders/v0/orders?MarketplaceIds&(CreatedAfter|LastUpdatedAfter)[&MaxResultsPerPage][&NextToken]`
  → {payload: {Orders, NextToken?, LastUpdatedBefore|CreatedBefore}}. Exactly one date family is
  required; NextToken only pages (the filters travel inside it).
- `GET /orders/v0/orders/{orderId}` (getOrder) → {payload: Order}
- `GET /orders/v0/orders/{orderId}/orderItems[?NextToken]` → {payload: {AmazonOrderId, OrderItems, NextToken?}}
- `POST /orders/v0/orders/{orderId}/shipmentConfirmation` {marketplaceId, packageDetail:
  {packageReferenceId, carrierCode, trackingNumber, shipDate, orderItems[{orderItemId, quantity}]}} → 204.
Source: amzn/selling-partner-api-models models/orders-api-model/ordersV0.json.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask, Response, request

from channel_sandboxes.amazon.sandbox import AmazonSandbox, sp_error
from channel_sandboxes.amazon.state import Order
from channel_sandboxes.common import decode_cursor, encode_cursor, iso_z, json_response, utcnow

ORDERS = "/orders/v0/orders"


def _instant(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def register_order_routes(app: Flask, sandbox: AmazonSandbox) -> None:
    state = sandbox.state

    @app.get(ORDERS)
    @sandbox.api("getOrders")
    def get_orders() -> Response:
        args = request.args
        refused = sandbox.check_marketplaces(args.get("MarketplaceIds"))
        if refused is not None:
            return refused
        token = args.get("NextToken", "")
        if token:
            decoded = decode_cursor(token)
            if not decoded or len(decoded) != 4:
                return sp_error(400, "InvalidInput", "Invalid NextToken.")
            field_name, since_text, size, after = decoded
        else:
            created, updated = args.get("CreatedAfter"), args.get("LastUpdatedAfter")
            if bool(created) == bool(updated):
                return sp_error(
                    400, "InvalidInput", "Exactly one of CreatedAfter or LastUpdatedAfter is required."
                )
            field_name, since_text = ("created", created) if created else ("updated", updated)
            try:
                size = int(args.get("MaxResultsPerPage", "100"))
            except ValueError:
                size = 0
            if not 1 <= size <= 100:
                return sp_error(400, "InvalidInput", "MaxResultsPerPage must be between 1 and 100.")
            after = None
        since = _instant(str(since_text))
        if since is None:
            return sp_error(400, "InvalidInput", "Dates must be ISO 8601 with a time zone.")

        def key(order: Order) -> list[str]:
            moment = order.purchased if field_name == "created" else order.updated
            return [iso_z(moment), order.amazon_order_id]

        with state.lock:
            chosen = sorted(
                (
                    o
                    for o in state.orders.values()
                    if (o.purchased if field_name == "created" else o.updated) >= since
                ),
                key=key,
            )
            if after:
                chosen = [o for o in chosen if key(o) > after]
            page = chosen[:size]
            body: dict[str, Any] = {"Orders": [state.order_json(o) for o in page]}
        body["LastUpdatedBefore" if field_name == "updated" else "CreatedBefore"] = iso_z(utcnow())
        if len(chosen) > size:
            body["NextToken"] = encode_cursor(field_name, since_text, size, key(page[-1]))
        return json_response({"payload": body})

    @app.get(f"{ORDERS}/<order_id>")
    @sandbox.api("getOrder")
    def get_order(order_id: str) -> Response:
        with state.lock:
            order = state.orders.get(order_id)
            if order is None:
                return sp_error(404, "NotFound", f"Order {order_id} not found.")
            return json_response({"payload": state.order_json(order)})

    @app.get(f"{ORDERS}/<order_id>/orderItems")
    @sandbox.api("getOrderItems")
    def get_order_items(order_id: str) -> Response:
        size = sandbox.config.order_items_page
        token = request.args.get("NextToken", "")
        start = 0
        if token:
            decoded = decode_cursor(token)
            if not decoded or decoded[0] != order_id or not isinstance(decoded[1], int):
                return sp_error(400, "InvalidInput", "Invalid NextToken.")
            start = decoded[1]
        with state.lock:
            order = state.orders.get(order_id)
            if order is None:
                return sp_error(404, "NotFound", f"Order {order_id} not found.")
            items = order.items[start : start + size]
            body: dict[str, Any] = {
                "AmazonOrderId": order_id,
                "OrderItems": [state.order_item_json(order, item) for item in items],
            }
            if start + size < len(order.items):
                body["NextToken"] = encode_cursor(order_id, start + size)
        return json_response({"payload": body})

    @app.post(f"{ORDERS}/<order_id>/shipmentConfirmation")
    @sandbox.api("confirmShipment")
    def confirm_shipment(order_id: str) -> Response:
        body = request.get_json(silent=True)
        detail = body.get("packageDetail") if isinstance(body, dict) else None
        required = ("packageReferenceId", "carrierCode", "trackingNumber", "shipDate", "orderItems")
        if (
            not isinstance(detail, dict)
            or not body.get("marketplaceId")
            or any(not detail.get(k) for k in required)
        ):
            return sp_error(
                400,
                "InvalidInput",
                "marketplaceId and packageDetail " + ", ".join(required) + " are required.",
            )
        if not str(detail["packageReferenceId"]).isdigit() or int(detail["packageReferenceId"]) <= 0:
            return sp_error(400, "InvalidInput", "packageReferenceId must be a positive number.")
        if _instant(str(detail["shipDate"])) is None:
            return sp_error(400, "InvalidInput", "shipDate must be ISO 8601 with a time zone.")
        with state.lock:
            order = state.orders.get(order_id)
            if order is None:
                return sp_error(404, "NotFound", f"Order {order_id} not found.")
            if order.marketplace_id != body["marketplaceId"]:
                return sp_error(400, "InvalidInput", "marketplaceId is not the order's marketplace.")
            if order.status not in ("Unshipped", "PartiallyShipped"):
                return sp_error(
                    400, "InvalidInput", f"The order cannot be confirmed in status {order.status}."
                )
            if any(s["packageReferenceId"] == detail["packageReferenceId"] for s in order.shipments):
                return sp_error(
                    400, "InvalidInput", "packageReferenceId was already confirmed for this order."
                )
            by_id = {item.order_item_id: item for item in order.items}
            lines = detail["orderItems"]
            for line in lines if isinstance(lines, list) else [None]:
                item = by_id.get(str((line or {}).get("orderItemId", "")))
                quantity = (line or {}).get("quantity")
                if (
                    item is None
                    or not isinstance(quantity, int)
                    or not 0 < quantity <= item.quantity - item.shipped
                ):
                    return sp_error(
                        400,
                        "InvalidInput",
                        "orderItems must name the order's items with quantities left to ship.",
                    )
            for line in lines:
                by_id[str(line["orderItemId"])].shipped += int(line["quantity"])
            order.shipments.append({k: detail.get(k) for k in (*required, "carrierName", "shippingMethod")})
            done = all(item.shipped >= item.quantity for item in order.items)
            order.status = "Shipped" if done else "PartiallyShipped"
            order.updated = utcnow()
        return Response(status=204)
