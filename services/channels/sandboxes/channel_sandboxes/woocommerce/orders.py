"""Orders (`/orders`, `/orders/{id}`, `/orders/{id}/notes`): filters, status changes with stock effects, notes."""

from __future__ import annotations

from flask import Flask, Response, request

from channel_sandboxes.common import json_response
from channel_sandboxes.woocommerce.sandbox import API, WooSandbox
from channel_sandboxes.woocommerce.state import (
    ORDER_STATUSES,
    STOCK_REDUCING_STATUSES,
    WooNote,
    WooOrder,
    WooProduct,
    WooStore,
    wp_now,
)
from channel_sandboxes.woocommerce.wp_rest import (
    ORDERBY_POSTS,
    WooError,
    api_guard,
    date_filters,
    include_filter,
    invalid_param,
    ordered,
    paged,
    rest_body,
    truthy,
)


def order_or_404(store: WooStore, order_id: int, status: int = 404) -> WooOrder:
    order = store.orders.get(order_id)
    if order is None:
        raise WooError("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", status)
    return order


def transition(store: WooStore, order: WooOrder, status: str) -> list[WooProduct]:
    """Order status change with WooCommerce's stock side effects (reduce on paid, restore on cancel)."""
    touched: list[WooProduct] = []
    if status in STOCK_REDUCING_STATUSES:
        touched = store.reduce_stock(order)
    elif status in ("cancelled", "pending"):
        touched = store.restore_stock(order)
    if status == "completed":
        order.date_completed = wp_now()
        order.date_paid = order.date_paid or order.date_completed
    order.status = status
    return touched


def register_order_routes(app: Flask, sandbox: WooSandbox) -> None:
    store = sandbox.store
    api = api_guard(sandbox)

    @app.get(f"{API}/orders")
    @api("orders/list", "list")
    def list_orders() -> Response:
        with store.lock:
            items = list(store.orders.values())
        statuses = [s for s in request.args.get("status", "any").split(",") if s]
        for status in statuses:
            if status != "any" and status not in ORDER_STATUSES:
                raise invalid_param(
                    "status", f"status[0] is not one of any, {', '.join(ORDER_STATUSES)}.", "rest_not_in_enum"
                )
        if "any" not in statuses:
            items = [o for o in items if o.status in statuses]
        else:
            items = [o for o in items if o.status != "trash"]
        items = date_filters(include_filter(items))
        return paged(ordered(items, "date", ORDERBY_POSTS), sandbox.order_json, store.lock)

    @app.get(f"{API}/orders/<int:order_id>")
    @api("orders/get", "view")
    def get_order(order_id: int) -> Response:
        with store.lock:
            return json_response(sandbox.order_json(order_or_404(store, order_id)))

    @app.route(f"{API}/orders/<int:order_id>", methods=["PUT", "PATCH", "POST"])
    @api("orders/update", "edit")
    def update_order(order_id: int) -> Response:
        data = rest_body()
        with store.lock:
            order = order_or_404(store, order_id, status=400)
            touched: list[WooProduct] = []
            status = data.get("status")
            if status is not None and status not in ORDER_STATUSES:
                raise invalid_param(
                    "status", f"status is not one of {', '.join(ORDER_STATUSES)}.", "rest_not_in_enum"
                )
            if data.get("set_paid") is True:
                order.date_paid = order.date_paid or wp_now()
                status = status or "processing"
            if status is not None and status != order.status:
                touched = transition(store, order, status)
            order.date_modified = wp_now()
            rendered = sandbox.order_json(order)
        sandbox.product_events(touched)
        sandbox.order_event(order, "order.updated")
        return json_response(rendered)

    @app.post(f"{API}/orders/<int:order_id>/notes")
    @api("orders/notes/create", "create")
    def add_note(order_id: int) -> Response:
        data = rest_body()
        with store.lock:
            order = order_or_404(store, order_id)
            if not data.get("note"):
                raise WooError(
                    "rest_missing_callback_param", "Missing parameter(s): note", 400, params=["note"]
                )
            note = WooNote(
                store.new_id(),
                str(data["note"]),
                truthy(data.get("customer_note", False)),
                truthy(data.get("added_by_user", False)),
            )
            order.notes.append(note)
            return json_response(store.note_json(note), 201)

    @app.get(f"{API}/orders/<int:order_id>/notes")
    @api("orders/notes/list", "list")
    def list_notes(order_id: int) -> Response:
        with store.lock:
            order = order_or_404(store, order_id)
            return json_response([store.note_json(n) for n in reversed(order.notes)])
