"""What the merchant does to an order: fulfil (all of it or some lines), cancel, take items back,
and decide about a possible duplicate. Each is one orders RPC; the orders service tells the
source channel afterwards (retried until the channel accepts), visible on the order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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


def _order_action(
    path: str, summary: str, **options: Any
) -> Callable[[Callable[..., Reply]], Callable[..., Reply]]:
    """A POST on one order by a merchant who may write orders: answers the order's new state with
    its version as ETag, 409 when the order's state refuses the action."""
    options.setdefault("response", s.OrderDetailOut)
    options.setdefault("problems", (409,))
    return routes.route(
        "POST",
        f"/orders/<order_id>/{path}",
        summary=summary,
        permission=Permission.ORDERS_WRITE,
        response_headers=_ETAG,
        **options,
    )


@_order_action(
    "fulfill", "Fulfil an order", body=s.FulfillIn, response=s.FulfillmentResultOut, idempotency_key=True
)
def fulfill_order(order_id: str, body: s.FulfillIn) -> Reply:
    """Commits the shipped units in inventory and moves the status (SHIPPED, or PARTIALLY_SHIPPED
    when `lines` names part of the order; no `lines`: every unshipped unit). The fulfilment is
    then created on the source channel; its `sync_state` says whether the channel accepted it."""
    reply = orders().FulfillOrder(m.fulfill_request(order_id, body, idempotency_key()))
    return versioned(m.fulfillment_result_out(reply), reply.order.version)


@_order_action(
    "cancel", "Cancel an order", problems=(400, 409), request_content=_CANCEL_BODY, idempotency_key=True
)
def cancel_order(order_id: str) -> Reply:
    """Releases the stock still reserved and tells the source channel. Optional body `{reason}`.
    Refused (409) once anything shipped: take items back with a return instead."""
    body = parse_body(s.CancelIn) if request.get_data() else s.CancelIn()
    order = orders().CancelOrder(m.cancel_request(order_id, body, idempotency_key())).order
    return versioned(m.order_detail_out(order), order.version)


@_order_action("returns", "Return items of an order", body=s.ReturnIn, idempotency_key=True)
def return_items(order_id: str, body: s.ReturnIn) -> Reply:
    """Units that came back: `restock: true` puts them back on hand (reason `returned`),
    `false` records them only (damaged). A refund without a return restocks nothing."""
    order = orders().ReturnOrderItems(m.return_request(order_id, body, idempotency_key())).order
    return versioned(m.order_detail_out(order), order.version)


@_order_action("duplicate-resolution", "Resolve a possible duplicate", body=s.DuplicateDecisionIn)
def resolve_duplicate(order_id: str, body: s.DuplicateDecisionIn) -> Reply:
    """The merchant's decision on an order flagged `possible_duplicate`: `keep` clears the flag,
    `cancel` cancels this order (its stock is released). Nothing is ever merged silently."""
    order = orders().ResolveDuplicate(m.duplicate_request(order_id, body)).order
    return versioned(m.order_detail_out(order), order.version)
