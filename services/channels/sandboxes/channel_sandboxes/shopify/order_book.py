"""Orders of the sandbox shop: placing one like a checkout, fulfilling, cancelling, and the REST
representation Shopify sends in orders/* webhooks.

A mixin of `ShopState` (state.py), which owns the records and the lock; callers hold `state.lock`.
Methods that change what a webhook subscriber hears about return `Event`s.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from channel_sandboxes.common import utcnow
from channel_sandboxes.shopify.models import (
    Event,
    Fulfillment,
    FulfillmentOrder,
    FulfillmentOrderLineItem,
    InventoryItem,
    Job,
    Level,
    LineItem,
    Location,
    Order,
    OrderError,
    Product,
    Variant,
    gid,
    money,
    valid_money,
)

if TYPE_CHECKING:
    from collections.abc import Callable

DEFAULT_SHIPPING_ADDRESS: dict[str, Any] = {
    "first_name": "Sandbox",
    "last_name": "Buyer",
    "name": "Sandbox Buyer",
    "company": None,
    "address1": "1 Demo Street",
    "address2": None,
    "city": "Ottawa",
    "province": "Ontario",
    "province_code": "ON",
    "country": "Canada",
    "country_code": "CA",
    "zip": "K1A 0B1",
    "phone": None,
}
# Financial statuses after a cancellation: money taken is refunded (when asked), an authorisation
# or a pending payment is voided, as Shopify does.
_PAID = {"paid", "partially_paid", "partially_refunded"}


def _amount(value: Any, what: str) -> str:
    if value is None:
        return "0.00"
    if not valid_money(value) or Decimal(str(value)) < 0:
        raise OrderError(f"{what} must be a non-negative amount")
    return money(value)


class OrderBook:
    """Orders, fulfillment orders, fulfillments and cancellation jobs of one shop."""

    currency: str
    primary_location_id: int
    locations: dict[int, Location]
    products: dict[int, Product]
    variants: dict[int, Variant]
    items: dict[int, InventoryItem]
    orders: dict[int, Order]
    fulfillment_orders: dict[int, FulfillmentOrder]
    fulfillments: dict[int, Fulfillment]
    jobs: dict[int, Job]
    _next_order_number: int
    new_id: Callable[[], int]
    variant_by_sku: Callable[[str], Variant | None]
    inventory_level_event: Callable[[InventoryItem, int], Event]

    def place_order(
        self,
        lines: list[dict[str, Any]],
        email: str | None,
        financial_status: str = "paid",
        allow_oversell: bool = False,
        *,
        details: dict[str, Any] | None = None,
    ) -> tuple[Order, list[Event]]:
        """Create an order like a checkout: stock moves from available to committed at once.

        Lines may carry `price`, and totals for the line: `discount`, `tax` (with `tax_rate`).
        `details` may give `customer` {first_name, last_name}, `shipping_address`, `billing_address`
        (REST-shaped) and `shipping` (the shipping price)."""
        extra = details or {}
        resolved: list[tuple[Variant, int, dict[str, Any]]] = []
        for line in lines:
            variant = self.variant_by_sku(str(line.get("sku", "")))
            quantity = line.get("quantity", 1)
            if variant is None:
                raise OrderError(f"unknown sku {line.get('sku')!r}")
            if not isinstance(quantity, int) or quantity <= 0:
                raise OrderError("quantity must be a positive integer")
            price = _amount(line["price"], "price") if "price" in line else variant.price
            money_fields = {
                "price": price,
                "discount": _amount(line.get("discount"), "discount"),
                "tax": _amount(line.get("tax"), "tax"),
                "tax_rate": float(line.get("tax_rate") or 0),
            }
            if Decimal(money_fields["discount"]) > Decimal(price) * quantity:
                raise OrderError("a line's discount cannot exceed its price")
            resolved.append((variant, quantity, money_fields))
        location_id = self.primary_location_id
        for variant, _quantity, _fields in resolved:
            item = self.items[variant.inventory_item_id]
            level = item.levels.get(location_id)
            have = level.available if level else 0
            needed = sum(q for v, q, _ in resolved if v.id == variant.id)
            if item.tracked and variant.inventory_policy == "DENY" and needed > have and not allow_oversell:
                raise OrderError(
                    f"not enough stock for {variant.sku!r}: {have} available, {needed} requested"
                )
        now = utcnow()
        order = Order(self.new_id(), self._next_order_number, email, self.currency, [], financial_status)
        order.created_at = order.updated_at = now
        order.shipping_price = _amount(extra.get("shipping"), "shipping")
        order.customer = extra.get("customer") or {"first_name": "Sandbox", "last_name": "Buyer"}
        order.shipping_address = {**DEFAULT_SHIPPING_ADDRESS, **(extra.get("shipping_address") or {})}
        order.billing_address = extra.get("billing_address") or dict(order.shipping_address)
        self._next_order_number += 1
        events: list[Event] = []
        for variant, quantity, fields in resolved:
            product = self.products[variant.product_id]
            order.line_items.append(
                LineItem(
                    self.new_id(), variant.id, product.id, variant.sku, product.title, quantity, **fields
                )
            )
            item = self.items[variant.inventory_item_id]
            if item.tracked:
                level = item.levels.setdefault(location_id, Level(available=0))
                level.available -= quantity
                level.committed += quantity
                level.updated_at = now
                events.append(self.inventory_level_event(item, location_id))
        fo = FulfillmentOrder(
            self.new_id(),
            order.id,
            location_id,
            [
                FulfillmentOrderLineItem(self.new_id(), li.id, li.quantity, li.quantity)
                for li in order.line_items
            ],
        )
        self.fulfillment_orders[fo.id] = fo
        order.fulfillment_order_ids.append(fo.id)
        self.orders[order.id] = order
        payload = self.order_rest(order)
        order_events = [Event("orders/create", payload)]
        if financial_status == "paid":
            order_events.append(Event("orders/paid", payload))
        return order, order_events + events

    def mark_paid(self, order: Order) -> list[Event]:
        """The merchant captured the payment (Shopify admin "Mark as paid"): orders/paid + updated."""
        order.financial_status = "paid"
        order.updated_at = utcnow()
        payload = self.order_rest(order)
        return [Event("orders/updated", payload), Event("orders/paid", payload)]

    def fulfill(
        self,
        requests: list[tuple[FulfillmentOrder, list[tuple[FulfillmentOrderLineItem, int]]]],
        tracking: dict[str, Any] | None,
        notify_customer: bool,
    ) -> tuple[Fulfillment, list[Event]]:
        """Ship the requested quantities: remaining and committed drop; statuses follow."""
        now = utcnow()
        order = self.orders[requests[0][0].order_id]
        lines: list[tuple[int, int]] = []
        events: list[Event] = []
        for fo, items in requests:
            for fo_line, quantity in items:
                fo_line.remaining -= quantity
                line = next(li for li in order.line_items if li.id == fo_line.line_item_id)
                line.fulfilled += quantity
                lines.append((line.id, quantity))
                self._move_committed(line, fo.location_id, quantity, restock=False)
            fo.status = "CLOSED" if all(li.remaining == 0 for li in fo.line_items) else "IN_PROGRESS"
            fo.updated_at = now
        info = {
            "company": (tracking or {}).get("company"),
            "number": (tracking or {}).get("number"),
            "url": (tracking or {}).get("url"),
        }
        tracking_list = [info] if any(info.values()) else []
        fulfillment = Fulfillment(
            self.new_id(), order.id, requests[0][0].location_id, tracking_list, lines, notify_customer
        )
        fulfillment.created_at = now
        self.fulfillments[fulfillment.id] = fulfillment
        order.fulfillment_ids.append(fulfillment.id)
        order.updated_at = now
        payload = self.order_rest(order)
        events.append(Event("fulfillments/create", self.fulfillment_rest(fulfillment)))
        events.append(Event("orders/updated", payload))
        if order.fulfillment_status == "fulfilled":
            events.append(Event("orders/fulfilled", payload))
        elif order.fulfillment_status == "partial":
            events.append(Event("orders/partially_fulfilled", payload))
        return fulfillment, events

    def cancel(
        self, order: Order, reason: str, *, refund: bool, restock: bool, staff_note: str | None
    ) -> tuple[Job, list[Event]]:
        """orderCancel: Shopify refuses an order already cancelled or with shipped items; otherwise
        the order is cancelled, its open work closed, its payment refunded (or voided) when asked,
        and its unshipped units go back to `available` only when `restock` is set."""
        if order.cancelled_at is not None:
            raise OrderError("Order has already been cancelled.", "INVALID")
        if any(li.fulfilled for li in order.line_items):
            raise OrderError("Cannot cancel an order that has fulfillments.", "INVALID")
        now = utcnow()
        for fo_id in order.fulfillment_order_ids:
            fo = self.fulfillment_orders[fo_id]
            for fo_line in fo.line_items:
                line = next(li for li in order.line_items if li.id == fo_line.line_item_id)
                self._move_committed(line, fo.location_id, fo_line.remaining, restock=restock)
                fo_line.remaining = 0
            fo.status = "CLOSED"
            fo.updated_at = now
        if order.financial_status in _PAID:
            order.financial_status = "refunded" if refund else order.financial_status
        else:
            order.financial_status = "voided"
        order.cancelled_at = order.updated_at = now
        order.cancel_reason = reason.lower()
        order.staff_note = staff_note
        job = Job(self.new_id(), order.id)
        self.jobs[job.id] = job
        payload = self.order_rest(order)
        return job, [Event("orders/cancelled", payload), Event("orders/updated", payload)]

    def _move_committed(self, line: LineItem, location_id: int, quantity: int, *, restock: bool) -> None:
        """Shipped (restock False) or cancelled units leave `committed`; restocked ones go back to
        `available`."""
        variant = self.variants.get(line.variant_id)
        item = self.items.get(variant.inventory_item_id) if variant else None
        if quantity <= 0 or not item or not item.tracked or location_id not in item.levels:
            return
        level = item.levels[location_id]
        level.committed = max(0, level.committed - quantity)
        if restock:
            level.available += quantity
        level.updated_at = utcnow()

    # ------------------------------------------------------------------ REST representations

    def fulfillment_rest(self, fulfillment: Fulfillment) -> dict[str, Any]:
        first = fulfillment.tracking[0] if fulfillment.tracking else {}
        return {
            "id": fulfillment.id,
            "order_id": fulfillment.order_id,
            "status": fulfillment.status.lower(),
            "created_at": fulfillment.created_at.isoformat(),
            "location_id": fulfillment.location_id,
            "tracking_company": first.get("company"),
            "tracking_number": first.get("number"),
            "tracking_url": first.get("url"),
            "admin_graphql_api_id": gid("Fulfillment", fulfillment.id),
            "line_items": [{"id": line_id, "quantity": qty} for line_id, qty in fulfillment.lines],
        }

    def order_rest(self, order: Order) -> dict[str, Any]:
        """The REST order Shopify sends in orders/* webhooks (fields of CHANNELS 1.7 and
        https://shopify.dev/docs/api/admin-rest/2025-07/resources/order)."""
        currency = order.currency

        def money_set(amount: Any) -> dict[str, Any]:
            value = {"amount": money(amount), "currency_code": currency}
            return {"shop_money": value, "presentment_money": value}

        return {
            "id": order.id,
            "admin_graphql_api_id": gid("Order", order.id),
            "name": order.name,
            "order_number": order.number,
            "number": order.number - 1000,
            "email": order.email,
            "created_at": order.created_at.isoformat(),
            "updated_at": order.updated_at.isoformat(),
            "processed_at": order.created_at.isoformat(),
            "cancelled_at": order.cancelled_at.isoformat() if order.cancelled_at else None,
            "cancel_reason": order.cancel_reason,
            "currency": currency,
            "total_price": money(order.total_price),
            "subtotal_price": money(order.subtotal),
            "total_discounts": money(order.total_discounts),
            "total_tax": money(order.total_tax),
            "total_shipping_price_set": money_set(order.shipping_price),
            "financial_status": order.financial_status,
            "fulfillment_status": order.fulfillment_status,
            "customer": {"id": order.id + 1, "email": order.email, **(order.customer or {})},
            "line_items": [
                {
                    "id": li.id,
                    "admin_graphql_api_id": gid("LineItem", li.id),
                    "variant_id": li.variant_id,
                    "product_id": li.product_id,
                    "sku": li.sku,
                    "title": li.title,
                    "name": li.title,
                    "quantity": li.quantity,
                    "price": li.price,
                    "total_discount": li.discount,
                    "discount_allocations": (
                        [{"amount": li.discount, "amount_set": money_set(li.discount)}]
                        if Decimal(li.discount)
                        else []
                    ),
                    "tax_lines": (
                        [
                            {
                                "title": "Tax",
                                "price": li.tax,
                                "rate": li.tax_rate,
                                "price_set": money_set(li.tax),
                            }
                        ]
                        if Decimal(li.tax)
                        else []
                    ),
                    # REST 2024-01+: units after removals (the sandbox removes none).
                    "current_quantity": li.quantity,
                    "fulfillable_quantity": 0 if order.cancelled_at else li.quantity - li.fulfilled,
                    "fulfillment_status": (
                        "fulfilled" if li.fulfilled >= li.quantity else ("partial" if li.fulfilled else None)
                    ),
                }
                for li in order.line_items
            ],
            "shipping_address": order.shipping_address,
            "billing_address": order.billing_address,
        }
