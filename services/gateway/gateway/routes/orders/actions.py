"""What the merchant does to an order: fulfil (all of it or some lines), cancel, take items back,
and decide about a possible duplicate. Each is one orders RPC; the orders service tells the
source channel afterwards (retried until the channel accepts), visible on the order."""

from __future__ import annotations

from flask import request

from gateway import orders_schemas as s
from gateway.api import Reply, RouteGroup, versioned
from gateway.domain import Permission
from gateway.inputs import idempotency_key, parse_body
from gateway.mapping import orders as m
from gateway.routes.orders.client import orders

routes = RouteGroup()

# The cancel body is optional, so it is parsed in the view and documented from its model.
_CANCEL_BODY = {"application/json": {"schema": s.CancelIn.model_json_schema()}}
_ETAG = {"ETag": "the order's new version"}


@routes.route(
    "POST",
    "/orders/<order_id>/fulfill",
    summary="Fulfil an order",
    permission=Permission.ORDERS_WRITE,
    body=s.FulfillIn,
    response=s.FulfillmentResultOut,
    problems=(409,),
    response_headers=_ETAG,
    idempotency_key=True,
)
def fulfill_order(order_id: str, body: s.FulfillIn) -> Reply:
    """Commits the shipped units in inventory and moves the status (SHIPPED, or PARTIALLY_SHIPPED
    when `lines` names part of the order; no `lines`: every unshipped unit). The fulfilment is
    then created on the source channel; its `sync_state` says whether the channel accepted it."""
    reply = orders().FulfillOrder(m.fulfill_request(order_id, body, idempotency_key()))
    return versioned(m.fulfillment_result_out(reply), reply.order.version)


@routes.route(
    "POST",
    "/orders/<order_id>/cancel",
    summary="Cancel an order",
    permission=Permission.ORDERS_WRITE,
    response=s.OrderDetailOut,
    problems=(400, 409),
    request_content=_CANCEL_BODY,
    response_headers=_ETAG,
    idempotency_key=True,
)
def cancel_order(order_id: str) -> Reply:
    """Releases the stock still reserved and tells the source channel. Optional body `{reason}`.
    Refused (409) once anything shipped: take items back with a return instead."""
    body = parse_body(s.CancelIn) if request.get_data() else s.CancelIn()
    order = orders().CancelOrder(m.cancel_request(order_id, body, idempotency_key())).order
    return versioned(m.order_detail_out(order), order.version)


@routes.route(
    "POST",
    "/orders/<order_id>/returns",
    summary="Return items of an order",
    permission=Permission.ORDERS_WRITE,
    body=s.ReturnIn,
    response=s.OrderDetailOut,
    problems=(409,),
    response_headers=_ETAG,
    idempotency_key=True,
)
def return_items(order_id: str, body: s.ReturnIn) -> Reply:
    """Units that came back: `restock: true` puts them back on hand (reason `returned`),
    `false` records them only (damaged). A refund without a return restocks nothing."""
    order = orders().ReturnOrderItems(m.return_request(order_id, body, idempotency_key())).order
    return versioned(m.order_detail_out(order), order.version)


@routes.route(
    "POST",
    "/orders/<order_id>/duplicate-resolution",
    summary="Resolve a possible duplicate",
    permission=Permission.ORDERS_WRITE,
    body=s.DuplicateDecisionIn,
    response=s.OrderDetailOut,
    problems=(409,),
    response_headers=_ETAG,
)
def resolve_duplicate(order_id: str, body: s.DuplicateDecisionIn) -> Reply:
    """The merchant's decision on an order flagged `possible_duplicate`: `keep` clears the flag,
    `cancel` cancels this order (its stock is released). Nothing is ever merged silently."""
    order = orders().ResolveDuplicate(m.duplicate_request(order_id, body)).order
    return versioned(m.order_detail_out(order), order.version)
