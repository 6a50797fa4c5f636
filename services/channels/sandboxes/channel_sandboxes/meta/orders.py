"""Commerce order edges of the Meta sandbox: list (state, updated_after, paging), items,
shipments, cancellations, and the idempotent acknowledge / ship / cancel actions."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask import Response, request

from channel_sandboxes.common import json_response
from channel_sandboxes.meta.graph_wire import iso, json_param, money, no_object, order_of, paged, params
from channel_sandboxes.meta.sandbox import MetaSandbox
from channel_sandboxes.meta.state import CMS_ID, GraphFault, Order

ORDER_STATES = ("FB_PROCESSING", "CREATED", "IN_PROGRESS", "COMPLETED")


def list_orders(sandbox: MetaSandbox, node_id: str) -> Response:
    st = sandbox.state
    if node_id != CMS_ID or not st.onsite_checkout:
        raise no_object(node_id)
    raw = request.args.get("state") or ""
    states = json_param(raw, "state") if raw.startswith("[") else [s for s in raw.split(",") if s]
    if not isinstance(states, list) or any(s not in ORDER_STATES for s in states):
        raise GraphFault(f"(#100) state must be a list of {', '.join(ORDER_STATES)}")
    try:
        since = float(request.args.get("updated_after") or 0)
    except ValueError:
        raise GraphFault("(#100) updated_after must be a unix timestamp") from None
    rows = [
        order_json(o)
        for o in sorted(st.orders.values(), key=lambda o: int(o.id))
        if (not states or o.state in states) and o.last_updated >= since
    ]
    return json_response(paged(rows, request.path))


def order_json(order: Order) -> dict[str, Any]:
    return {
        "id": order.id,
        "order_status": {"state": order.state},
        "created": iso(order.created),
        "last_updated": iso(order.last_updated),
        "channel": order.channel,
        "merchant_order_id": order.merchant_order_reference or None,
        "buyer_details": {"name": order.buyer_name, "email": order.email, "email_remarketing_option": False},
        "estimated_payment_details": {
            "subtotal": {
                "items": money(order.total(), order.currency),
                "shipping": money(0, order.currency),
            },
            "tax": money(0, order.currency),
            "total_amount": money(order.total(), order.currency),
        },
        "shipping_address": {
            "name": order.buyer_name,
            "street1": "1 Hacker Way",
            "street2": "",
            "city": "Menlo Park",
            "state": "CA",
            "postal_code": "94025",
            "country": "US",
        },
    }


def order_items(sandbox: MetaSandbox, node_id: str) -> Response:
    order = order_of(sandbox, node_id)
    rows = [
        {
            "id": ln.id,
            "retailer_id": ln.retailer_id,
            "product_name": ln.name,
            "quantity": ln.quantity,
            "price_per_unit": money(ln.price, order.currency),
            "tax_details": {"estimated_tax": money(0, order.currency)},
        }
        for ln in order.lines
    ]
    return json_response(paged(rows, request.path))


def order_cancellations(sandbox: MetaSandbox, node_id: str) -> Response:
    return json_response(paged(list(order_of(sandbox, node_id).cancellations), request.path))


def order_shipments(sandbox: MetaSandbox, node_id: str) -> Response:
    return json_response(paged(list(order_of(sandbox, node_id).shipments), request.path))


def _once(order: Order, key: str, action: Callable[[], dict[str, Any]]) -> Response:
    """An idempotent order action: the same key gets the first answer again and changes nothing."""
    if not key:
        raise GraphFault("(#100) idempotency_key is required")
    if key in order.answers:
        return json_response(order.answers[key])
    answer = action()
    order.answers[key] = answer
    order.last_updated = time.time()
    return json_response(answer)


def acknowledge(sandbox: MetaSandbox, node_id: str) -> Response:
    order = order_of(sandbox, node_id)
    args = params()

    def act() -> dict[str, Any]:
        if order.state != "CREATED":
            raise GraphFault(f"(#100) Order {order.id} is {order.state}, not CREATED", 100)
        order.state, order.acknowledged = "IN_PROGRESS", True
        order.merchant_order_reference = str(args.get("merchant_order_reference") or "")
        return {"id": order.id, "state": order.state, "success": True}

    return _once(order, str(args.get("idempotency_key") or ""), act)


def _complete_if_done(order: Order) -> None:
    if all(ln.shipped + ln.cancelled >= ln.quantity for ln in order.lines):
        order.state = "COMPLETED"


def ship(sandbox: MetaSandbox, node_id: str) -> Response:
    order = order_of(sandbox, node_id)
    args = params()

    def act() -> dict[str, Any]:
        if order.state != "IN_PROGRESS":
            raise GraphFault(f"(#100) Order {order.id} is {order.state}: only acknowledged orders can ship")
        items = json_param(args.get("items"), "items")
        tracking = json_param(args.get("tracking_info") or {}, "tracking_info")
        if not isinstance(items, list) or not items or not isinstance(tracking, dict):
            raise GraphFault("(#100) items (a non-empty array) and tracking_info are required")
        if not tracking.get("tracking_number") or not tracking.get("carrier"):
            raise GraphFault("(#100) tracking_info needs tracking_number and carrier")
        plan = []
        for entry in items:
            entry = entry if isinstance(entry, dict) else {}
            line = next(
                (
                    ln
                    for ln in order.lines
                    if entry.get("retailer_id") == ln.retailer_id or entry.get("item_id") == ln.id
                ),
                None,
            )
            quantity = entry.get("quantity")
            if line is None or not isinstance(quantity, int) or quantity <= 0:
                raise GraphFault(
                    "(#100) each item needs a retailer_id (or item_id) of this order and a positive quantity"
                )
            if line.shipped + line.cancelled + quantity > line.quantity:
                raise GraphFault(f"(#100) Cannot ship more of {line.retailer_id} than was ordered")
            plan.append((line, quantity))
        for line, quantity in plan:
            line.shipped += quantity
        shipment = {
            "id": sandbox.state.new_id(),
            "items": [{"retailer_id": ln.retailer_id, "quantity": q} for ln, q in plan],
            "tracking_info": {
                "tracking_number": str(tracking.get("tracking_number")),
                "carrier": str(tracking.get("carrier")),
                "shipping_method_name": str(tracking.get("shipping_method_name") or ""),
            },
        }
        order.shipments.append(shipment)
        _complete_if_done(order)
        return {"success": True, "id": shipment["id"]}

    return _once(order, str(args.get("idempotency_key") or ""), act)


def cancel(sandbox: MetaSandbox, node_id: str) -> Response:
    order = order_of(sandbox, node_id)
    args = params()

    def act() -> dict[str, Any]:
        if order.state not in ("CREATED", "IN_PROGRESS"):
            raise GraphFault(f"(#100) Order {order.id} is {order.state} and cannot be cancelled")
        reason = json_param(args.get("cancel_reason") or {}, "cancel_reason")
        restock = str(args.get("restock_items", "false")).lower() in ("true", "1")
        cancelled = []
        for line in order.lines:
            left = line.quantity - line.shipped - line.cancelled
            if left > 0:
                line.cancelled += left
                cancelled.append({"retailer_id": line.retailer_id, "quantity": left})
                item = sandbox.state.items.get(line.retailer_id)
                if restock and item is not None:
                    item.inventory += left
                    item.availability = "in stock" if item.inventory > 0 else "out of stock"
        if not cancelled:
            raise GraphFault("(#100) Nothing left to cancel")
        order.cancellations.append(
            {
                "id": sandbox.state.new_id(),
                "cancel_reason": reason if isinstance(reason, dict) else {},
                "restock_items": restock,
                "items": cancelled,
            }
        )
        _complete_if_done(order)
        return {"success": True}

    return _once(order, str(args.get("idempotency_key") or ""), act)
