"""The order acknowledgement feed (POST_ORDER_ACKNOWLEDGEMENT_DATA, XML) as the sandbox processes it.

An `AmazonEnvelope` of MessageType OrderAcknowledgement; each Message's OrderAcknowledgement names
an AmazonOrderID and a StatusCode: Success acknowledges (nothing changes), Failure cancels the
whole order, each Item with its AmazonOrderItemCode and CancelReason (OrderAcknowledgement.xsd as
integrators document it; Source: https://developer-docs.amazon.com/sp-api/docs/order-feed-type-values).
A Failure on an order with a shipped unit, or one already cancelled, is an error: Amazon refunds
the whole order instead, which the sandbox does not model. For every CancelReason but NoInventory
the units go back into the listing's stock, as Amazon does. The processing report is the XML
ProcessingReport (StatusCode Complete, ProcessingSummary, a Result per refused message).
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from channel_sandboxes.amazon.state import AmazonState, Feed
from channel_sandboxes.common import utcnow

FEED_TYPE = "POST_ORDER_ACKNOWLEDGEMENT_DATA"
CANCELLABLE = ("Pending", "Unshipped")
NO_RESTOCK = "NoInventory"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(node: ElementTree.Element, name: str) -> ElementTree.Element | None:
    return next((e for e in node if _local(e.tag) == name), None)


def _text(node: ElementTree.Element | None, name: str) -> str:
    found = _child(node, name) if node is not None else None
    return (found.text or "").strip() if found is not None else ""


def process_acknowledgements(state: AmazonState, feed: Feed, content: bytes) -> bytes:
    """Apply the feed (callers hold the lock) and return its XML processing report; ValueError
    when the document is not an order acknowledgement envelope (the feed is then FATAL)."""
    if b"<!DOCTYPE" in content:
        raise ValueError("The feed declares a DTD.")
    try:
        root = ElementTree.fromstring(content)
    except ElementTree.ParseError as exc:
        raise ValueError("The feed is not well-formed XML.") from exc
    if _local(root.tag) != "AmazonEnvelope" or _text(root, "MessageType") != "OrderAcknowledgement":
        raise ValueError("The feed needs an AmazonEnvelope of MessageType OrderAcknowledgement.")
    if _text(_child(root, "Header"), "MerchantIdentifier") != state.seller_id:
        raise ValueError("The feed's MerchantIdentifier is not the submitting selling partner.")
    messages = [m for m in root if _local(m.tag) == "Message"]
    errors: list[tuple[str, str, str]] = []
    for message in messages:
        message_id = _text(message, "MessageID")
        problem = _acknowledge(state, feed, _child(message, "OrderAcknowledgement"))
        if problem:
            errors.append((message_id, problem[0], problem[1]))
    return report(state.seller_id, feed.feed_id, len(messages), errors)


def _acknowledge(state: AmazonState, feed: Feed, ack: ElementTree.Element | None) -> tuple[str, str] | None:
    """(ResultMessageCode, ResultDescription) when the message is refused, else None."""
    if ack is None:
        return "5000", "The message has no OrderAcknowledgement."
    order_id, status = _text(ack, "AmazonOrderID"), _text(ack, "StatusCode")
    order = state.orders.get(order_id)
    if order is None:
        return "18028", f"The order ID {order_id} was not found for this merchant."
    if status == "Success":
        return None
    if status != "Failure":
        return "5001", "StatusCode must be Success or Failure."
    if order.status not in CANCELLABLE or any(i.shipped for i in order.items):
        return "18234", f"Order {order_id} is {order.status} and can no longer be cancelled."
    reasons: dict[str, str] = {}
    for item in (e for e in ack if _local(e.tag) == "Item"):
        reasons[_text(item, "AmazonOrderItemCode")] = _text(item, "CancelReason")
    order.status, order.updated = "Canceled", utcnow()
    for line in order.items:
        reason = reasons.get(line.order_item_id, "")
        listing = state.listings.get(line.sku)
        if listing is not None and reason != NO_RESTOCK:
            listing.quantity += line.quantity
    cancellation: dict[str, Any] = {
        "order_id": order_id,
        "feed_id": feed.feed_id,
        "reasons": reasons,
        "at": utcnow().isoformat(),
    }
    state.cancellations.append(cancellation)
    return None


def report(seller_id: str, feed_id: str, processed: int, errors: list[tuple[str, str, str]]) -> bytes:
    """The XML ProcessingReport: a summary and one Result per refused message."""
    results = "".join(
        f"<Result><MessageID>{escape(m)}</MessageID><ResultCode>Error</ResultCode>"
        f"<ResultMessageCode>{escape(code)}</ResultMessageCode>"
        f"<ResultDescription>{escape(words)}</ResultDescription></Result>"
        for m, code, words in errors
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><AmazonEnvelope><Header><DocumentVersion>1.02'
        f"</DocumentVersion><MerchantIdentifier>{escape(seller_id)}</MerchantIdentifier></Header>"
        "<MessageType>ProcessingReport</MessageType><Message><MessageID>1</MessageID><ProcessingReport>"
        f"<DocumentTransactionID>{escape(feed_id)}</DocumentTransactionID><StatusCode>Complete</StatusCode>"
        f"<ProcessingSummary><MessagesProcessed>{processed}</MessagesProcessed>"
        f"<MessagesSuccessful>{processed - len(errors)}</MessagesSuccessful>"
        f"<MessagesWithError>{len(errors)}</MessagesWithError><MessagesWithWarning>0</MessagesWithWarning>"
        f"</ProcessingSummary>{results}</ProcessingReport></Message></AmazonEnvelope>"
    ).encode()
