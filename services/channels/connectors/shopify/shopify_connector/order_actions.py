"""Shopify order actions OmniStock sends back to the shop: fulfilments and cancellations.

Both are retried by the channels service until Shopify accepts or refuses for good, and an attempt
whose answer was lost may already have worked; so each first reads what the shop holds and
returns the earlier result instead of acting twice (a fulfilment with the same tracking number,
an order already cancelled).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock_common.errors import FailedPrecondition, NotFound
from omnistock_connector_kit.connector_base import CHANNEL_REJECTED
from shopify_connector import protocol as p
from shopify_connector.client import ShopifyClient

log = logging.getLogger(__name__)

# How long CancelOrder watches the background cancellation job before answering (the job usually
# finishes in well under a second; a job still running is reported as accepted, and the shop's
# orders/cancelled webhook or the next order poll confirms it).
CANCEL_JOB_CHECKS = 4
CANCEL_JOB_PAUSE_SECONDS = 0.25
ORDER_CANCEL_REFUSED = "ORDER_CANCEL_REFUSED"


def create_fulfillment(
    shopify: ShopifyClient,
    external_order_id: str,
    lines: Sequence[pb.FulfillmentLine],
    *,
    carrier: str,
    tracking_number: str,
    tracking_url: str,
) -> str:
    """fulfillmentCreate over the order's open fulfillment orders; returns the numeric id."""
    order_gid = p.gid("Order", external_order_id)
    data = shopify.graphql(
        p.FULFILLMENT_ORDERS_QUERY,
        {"id": order_gid},
        cost=p.FULFILLMENT_ORDERS_QUERY_COST,
        what="fulfillment orders",
    )
    order = data.get("order")
    if not order:
        raise NotFound(f"Shopify has no order {external_order_id}")
    earlier = p.already_shipped(order.get("fulfillments") or [], tracking_number)
    if earlier:
        log.info("order %s: fulfillment %s already carries this tracking number", external_order_id, earlier)
        return earlier
    open_orders = [
        fo
        for fo in (order.get("fulfillmentOrders") or {}).get("nodes") or []
        if str(fo.get("status", "")).upper() in ("OPEN", "IN_PROGRESS")
    ]
    by_fulfillment_order = p.fulfillment_allocation(open_orders, lines)
    if not by_fulfillment_order:
        raise FailedPrecondition(
            f"order {external_order_id} has nothing left to fulfil", reason=p.NOTHING_TO_FULFIL
        )
    fulfillment: dict[str, Any] = {
        "lineItemsByFulfillmentOrder": by_fulfillment_order,
        "notifyCustomer": False,
    }
    tracking = p.tracking_input(carrier, tracking_number, tracking_url)
    if tracking:
        fulfillment["trackingInfo"] = tracking
    data = shopify.graphql(
        p.FULFILLMENT_CREATE_MUTATION,
        {"fulfillment": fulfillment},
        cost=p.COST_MUTATION,
        what="fulfillmentCreate",
        idempotent=False,
    )
    payload = data.get("fulfillmentCreate") or {}
    errors = payload.get("userErrors") or []
    created = payload.get("fulfillment") or {}
    if errors or not created.get("id"):
        message = "; ".join(p.error_message(e) for e in errors) or "no fulfillment returned"
        raise FailedPrecondition(f"Shopify refused the fulfillment: {message}", reason=CHANNEL_REJECTED)
    return p.numeric_id(created["id"])


def cancel_order(
    shopify: ShopifyClient,
    external_order_id: str,
    reason: str,
    *,
    refund: bool,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """orderCancel; returns the cancellation job's id ("" when the order was already cancelled).

    Refusals (orderCancelUserErrors, or a job that finished without cancelling) are
    FAILED_PRECONDITION: retrying the same request will not change Shopify's mind.
    """
    order_gid = p.gid("Order", external_order_id)
    data = shopify.graphql(
        p.ORDER_CANCELLED_QUERY, {"id": order_gid}, cost=p.COST_SHOP, what="order cancellation state"
    )
    order = data.get("order")
    if not order:
        raise NotFound(f"Shopify has no order {external_order_id}")
    if order.get("cancelledAt"):
        return ""
    data = shopify.graphql(
        p.ORDER_CANCEL_MUTATION,
        p.cancel_variables(order_gid, reason, refund=refund),
        cost=p.COST_MUTATION,
        what="orderCancel",
        idempotent=False,
    )
    payload = data.get("orderCancel") or {}
    errors = payload.get("orderCancelUserErrors") or []
    job = payload.get("job") or {}
    if errors or not job.get("id"):
        raise FailedPrecondition(p.cancel_refusal(errors), reason=ORDER_CANCEL_REFUSED)
    job_id = str(job["id"])
    for check in range(CANCEL_JOB_CHECKS):
        if check:
            sleep(CANCEL_JOB_PAUSE_SECONDS)
        state = shopify.graphql(
            p.CANCEL_JOB_QUERY, {"id": order_gid, "job": job_id}, cost=p.COST_SHOP, what="cancellation job"
        )
        if (state.get("order") or {}).get("cancelledAt"):
            return job_id
        if (state.get("job") or {}).get("done"):
            raise FailedPrecondition(
                "Shopify finished the cancellation job without cancelling the order",
                reason=ORDER_CANCEL_REFUSED,
            )
    return job_id
