"""Orders: the consolidated list (every channel's orders and manual ones), one order with its
history and raw channel versions, and manual orders."""

from __future__ import annotations

from gateway import orders_schemas as s
from gateway.api import API_PREFIX, Reply, RouteGroup, etag, versioned
from gateway.domain import Permission
from gateway.inputs import idempotency_key
from gateway.mapping import orders as m
from gateway.routes.orders.client import orders
from omnistock.orders.v1 import orders_service_pb2 as pb

routes = RouteGroup()


@routes.route(
    "GET",
    "/orders",
    summary="List orders",
    permission=Permission.ORDERS_READ,
    query=s.OrderListQuery,
    response=s.OrderPage,
)
def list_orders(query: s.OrderListQuery) -> s.OrderPage:
    """Newest first, keyset-paginated. Filters: channel (type or connection id), status and flag
    (repeated or comma-separated), from/to (created, RFC 3339), q (email, order name, SKU)."""
    return m.order_page(orders().ListOrders(m.list_request(query)))


@routes.route(
    "GET",
    "/orders/<order_id>",
    summary="Get an order",
    permission=Permission.ORDERS_READ,
    response=s.OrderDetailOut,
    response_headers={"ETag": "the order's version"},
)
def get_order(order_id: str) -> Reply:
    """The order with its status history and every raw payload the channel sent."""
    order = orders().GetOrder(pb.GetOrderRequest(order_id=order_id)).order
    return versioned(m.order_detail_out(order), order.version)


@routes.route(
    "POST",
    "/orders",
    summary="Create a manual order",
    permission=Permission.ORDERS_WRITE,
    body=s.OrderCreateIn,
    response=s.OrderDetailOut,
    status=201,
    problems=(409,),
    response_headers={"ETag": "the order's version", "Location": "the new order"},
    idempotency_key=True,
)
def create_order(body: s.OrderCreateIn) -> Reply:
    """Source MANUAL; its lines are reserved in inventory like a channel order's (short stock:
    the order is kept and flagged `oversold`). An `Idempotency-Key` makes a repeat return the
    first order; the same key with a different body is a 422."""
    order = orders().CreateOrder(m.create_request(body, idempotency_key())).order
    headers = {**etag(order.version), "Location": f"{API_PREFIX}/orders/{order.id}"}
    return Reply(m.order_detail_out(order), headers=headers)
