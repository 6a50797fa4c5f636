"""`/_sandbox/*` routes of Amazon's own (orders, throttling, the catalog offers match, listings read
back); the token routes are in lwa.py and
the shared ones (reset, config, products, inventory, prices, faults, calls) in
`channel_sandboxes.control`."""

from __future__ import annotations

from decimal import Decimal

from flask import Flask, Response

from channel_sandboxes.amazon.sandbox import AmazonSandbox
from channel_sandboxes.amazon.state import CatalogItem, Order, OrderItem, StockError, decimal_price
from channel_sandboxes.common import json_body, json_response, utcnow
from channel_sandboxes.control import order_lines_error, register_common_control_routes

ORDER_STATUSES = (
    "Pending",
    "Unshipped",
    "PartiallyShipped",
    "Shipped",
    "Canceled",
    "Unfulfillable",
    "InvoiceUnconfirmed",
    "PendingAvailability",
)


def register_control_routes(app: Flask, sandbox: AmazonSandbox) -> None:
    state = sandbox.state

    @app.post("/_sandbox/orders")
    def place_order() -> Response:
        """An MFN order (status Unshipped unless given): stock goes down as Amazon reserves it."""
        data = json_body()
        lines = data.get("lines")
        error = order_lines_error(lines)
        if error is not None:
            return error
        status = str(data.get("status") or "Unshipped")
        if status not in ORDER_STATUSES:
            return json_response({"error": f"status must be one of {ORDER_STATUSES}"}, 400)
        try:
            with state.lock:
                order = _place(
                    sandbox, lines, str(data.get("email") or ""), status, bool(data.get("allow_oversell"))
                )
                body = {
                    "id": order.amazon_order_id,
                    "name": order.amazon_order_id,
                    "order": state.order_json(order),
                    "items": [state.order_item_json(order, i) for i in order.items],
                }
        except StockError as exc:
            return json_response({"error": str(exc)}, 422)
        except ValueError as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response(body, 201)

    @app.get("/_sandbox/orders/<order_id>")
    def order_view(order_id: str) -> Response:
        with state.lock:
            order = state.orders.get(order_id)
            if order is None:
                return json_response({"error": "unknown order"}, 404)
            return json_response(
                {
                    "order": state.order_json(order),
                    "items": [state.order_item_json(order, i) for i in order.items],
                    "status": order.status,
                    "shipments": list(order.shipments),
                }
            )

    @app.post("/_sandbox/catalog-items")
    def add_catalog_items() -> Response:
        """Items of Amazon's own catalog ({items: [{barcode, asin?, title?, product_type?}]}): what
        a LISTING_OFFER_ONLY put can match by barcode or ASIN."""
        items = json_body().get("items")
        if not isinstance(items, list) or not all(isinstance(i, dict) and i.get("barcode") for i in items):
            return json_response(
                {"error": "items must be a list of {barcode, asin?, title?, product_type?}"}, 400
            )
        made = []
        with state.lock:
            for item in items:
                barcode = str(item["barcode"])
                asin = str(item.get("asin") or f"B0{state.next_number():08d}")
                entry = CatalogItem(
                    barcode,
                    asin,
                    str(item.get("title") or barcode),
                    str(item.get("product_type") or "PRODUCT"),
                )
                state.catalog_items[barcode] = entry
                made.append({"barcode": barcode, "asin": asin, "title": entry.title})
        return json_response({"items": made}, 201)

    @app.get("/_sandbox/listings")
    def listings_view() -> Response:
        """Every listing with all its data (attributes, relationships), the put count per SKU and
        the SKUs deleted."""
        with state.lock:
            everything = {"summaries", "attributes", "offers", "fulfillmentAvailability", "relationships"}
            listings = [
                {**state.listing_json(x, everything), "requirements": x.requirements}
                for x in sorted(state.listings.values(), key=lambda x: x.sku)
            ]
            return json_response(
                {"listings": listings, "puts": dict(state.put_writes), "deleted": list(state.deleted)}
            )

    @app.get("/_sandbox/cancellations")
    def cancellations_view() -> Response:
        """Orders the seller cancelled by order acknowledgement feed: {order_id, feed_id,
        reasons (order item id → CancelReason), at}."""
        with state.lock:
            return json_response({"cancellations": list(state.cancellations)})

    @app.post("/_sandbox/throttle")
    def throttle() -> Response:
        """The next `count` API calls answer 429 QuotaExceeded (whatever their usage plan says)."""
        count = json_body().get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            return json_response({"error": "count must be a non-negative integer"}, 400)
        sandbox.throttle_next = count
        return json_response({"throttle_next": count})

    register_common_control_routes(app, sandbox)


def _place(sandbox: AmazonSandbox, lines: list, email: str, status: str, oversell: bool) -> Order:
    state = sandbox.state
    items: list[OrderItem] = []
    for line in lines:
        if not isinstance(line, dict):
            raise ValueError("lines must be a non-empty list of {sku, quantity}")
        listing = state.listings.get(str(line.get("sku", "")))
        quantity = line.get("quantity")
        if listing is None:
            raise ValueError(f"unknown sku {line.get('sku')!r}")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise ValueError("quantity must be a positive integer")
        if listing.quantity < quantity and not oversell:
            raise StockError(f"not enough stock for {listing.sku}: {listing.quantity} < {quantity}")
        price = decimal_price(line["price"]) if line.get("price") is not None else listing.price
        items.append(
            OrderItem(
                f"{state.next_number():014d}",
                listing.sku,
                listing.asin,
                listing.title,
                quantity,
                Decimal(price),
            )
        )
    for item in items:
        listing = state.listings[item.sku]
        listing.quantity -= item.quantity
        listing.updated = utcnow()
    now = utcnow()
    order = Order(state.new_order_id(), status, state.marketplace_id, state.currency, email, items, now, now)
    state.orders[order.amazon_order_id] = order
    return order
