"""CancelOrder over an AmazonClient: the order acknowledgement feed (protocol.cancellation).

getOrder (status) → getOrderItems (the AmazonOrderItemCodes; nothing may have shipped) → one
POST_ORDER_ACKNOWLEDGEMENT_DATA feed with StatusCode Failure through bulk.run_feed (the same
createFeedDocument → upload → createFeed → getFeed → report machinery as the listings feed) →
the XML processing report.

Outcomes: an order Amazon already shows Canceled answers at once (a retry after a lost answer);
Shipped / PartiallyShipped or any shipped item → FAILED_PRECONDITION (Amazon cancels unshipped
orders only; a refund is Seller Central's); a report naming an error → FAILED_PRECONDITION with
Amazon's words; FATAL → FAILED_PRECONDITION; CANCELLED → UNAVAILABLE (send again). A feed still
queued at the end of the wait counts as accepted, as for stock feeds (Amazon processes feeds in
minutes; sending it again would cancel twice): the answer names the feed, and the order's status
comes back Canceled through FetchOrders.
"""

from __future__ import annotations

import logging

from amazon_connector import bulk
from amazon_connector import protocol as p
from amazon_connector.client import AmazonClient, require_seller
from amazon_connector.protocol import cancellation as cx
from omnistock_common.errors import FailedPrecondition, Unavailable
from omnistock_connector_kit.connector_base import CHANNEL_REJECTED, CHANNEL_UNAVAILABLE

log = logging.getLogger(__name__)

ORDER_NOT_CANCELLABLE = "ORDER_NOT_CANCELLABLE"
CANCELLED = "Canceled"
SHIPPED = ("Shipped", "PartiallyShipped", "InvoiceUnconfirmed")


def cancel_order(client: AmazonClient, order_id: str, reason: str, setting: str = "") -> str:
    """Cancel the whole order; returns the reference channels logs ("feed <feedId>")."""
    seller = require_seller(client)
    status = str(client.get_order(order_id).get("OrderStatus") or "")
    if status == CANCELLED:
        return f"{order_id}/{CANCELLED}"
    if status in SHIPPED:
        raise FailedPrecondition(
            f"order {order_id} is {status}: Amazon cancels only unshipped orders",
            reason=ORDER_NOT_CANCELLABLE,
        )
    items = client.order_items(order_id)
    problem = cx.cancel_problem(items)
    if problem:
        raise FailedPrecondition(f"order {order_id}: {problem}", reason=ORDER_NOT_CANCELLABLE)
    code = cx.cancel_reason(reason, setting)
    item_ids = [str(i.get("OrderItemId")) for i in items if i.get("OrderItemId")]
    document = cx.acknowledgement_document(seller.seller_id, order_id, item_ids, code)
    run = bulk.run_feed(client, cx.FEED_TYPE, cx.CONTENT_TYPE, document)
    log.info("order %s cancellation feed %s: %s", order_id, run.feed_id, run.status)
    reference = f"feed {run.feed_id}"
    if run.status in p.FEED_PENDING_STATUSES:
        return reference
    if run.status == "CANCELLED":
        raise Unavailable(
            f"Amazon cancelled feed {run.feed_id}; cancel the order again", reason=CHANNEL_UNAVAILABLE
        )
    try:
        report = cx.read_report(run.report or b"")
    except ValueError as exc:
        raise FailedPrecondition(f"feed {run.feed_id}: {exc}", reason=CHANNEL_REJECTED) from None
    if run.status == "FATAL" or report.with_error:
        words = "; ".join(report.errors) or f"feed {run.feed_id} was refused ({run.status})"
        raise FailedPrecondition(f"Amazon did not cancel order {order_id}: {words}", reason=CHANNEL_REJECTED)
    return reference
