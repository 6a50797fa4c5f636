"""Seller cancellation: the CancelReason chosen, the acknowledgement XML, the processing report
read back, and what CancelOrder answers for each feed outcome (a stub client; no HTTP)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree

import pytest

from amazon_connector import bulk, cancellation
from amazon_connector.client import Seller
from amazon_connector.protocol import cancellation as cx
from omnistock_common.errors import FailedPrecondition, Unavailable

ORDER = "113-1234567-7654321"


def report(*errors: tuple[str, str], processed: int = 1) -> bytes:
    results = "".join(
        f"<Result><MessageID>1</MessageID><ResultCode>Error</ResultCode><ResultMessageCode>{c}"
        f"</ResultMessageCode><ResultDescription>{w}</ResultDescription></Result>"
        for c, w in errors
    )
    return (
        "<AmazonEnvelope><MessageType>ProcessingReport</MessageType><Message><ProcessingReport>"
        "<StatusCode>Complete</StatusCode><ProcessingSummary>"
        f"<MessagesProcessed>{processed}</MessagesProcessed><MessagesWithError>{len(errors)}</MessagesWithError>"
        f"</ProcessingSummary>{results}</ProcessingReport></Message></AmazonEnvelope>"
    ).encode()


def test_the_reason_text_picks_amazons_cancel_reason() -> None:
    assert cx.cancel_reason("NoInventory") == "NoInventory"
    assert cx.cancel_reason("no-inventory") == "NoInventory"
    assert cx.cancel_reason("CUSTOMER") == "BuyerCanceled"
    assert cx.cancel_reason("inventory") == "NoInventory"
    assert cx.cancel_reason("the buyer changed their mind", "ShippingAddressUndeliverable") == (
        "ShippingAddressUndeliverable"
    )
    assert cx.cancel_reason("", "") == "BuyerCanceled"


def test_the_acknowledgement_cancels_every_item_and_escapes_text() -> None:
    document = cx.acknowledgement_document("A1<S>", ORDER, ["111", "222"], "BuyerCanceled")
    root = ElementTree.fromstring(document)
    assert root.findtext("Header/MerchantIdentifier") == "A1<S>"
    assert root.findtext("MessageType") == "OrderAcknowledgement"
    ack = root.find("Message/OrderAcknowledgement")
    assert (
        ack is not None and ack.findtext("AmazonOrderID") == ORDER and ack.findtext("StatusCode") == "Failure"
    )
    assert [(i.findtext("AmazonOrderItemCode"), i.findtext("CancelReason")) for i in ack.findall("Item")] == [
        ("111", "BuyerCanceled"),
        ("222", "BuyerCanceled"),
    ]


def test_only_unshipped_orders_can_be_cancelled() -> None:
    assert cx.cancel_problem([{"SellerSKU": "A", "QuantityShipped": 0}]) == ""
    assert "A already shipped" in cx.cancel_problem([{"SellerSKU": "A", "QuantityShipped": 1}])
    assert cx.cancel_problem([]) != ""


def test_the_report_gives_the_errors_and_refuses_what_is_not_a_report() -> None:
    assert cx.read_report(report()) == cx.ReportResult(0, ())
    assert cx.read_report(report(("18028", "not found"))) == cx.ReportResult(1, ("18028: not found",))
    for bad in (b"not xml", b"<Other/>", b'<!DOCTYPE x [<!ENTITY a "b">]><x/>', b"<x>" + b" " * (2 << 20)):
        with pytest.raises(ValueError):
            cx.read_report(bad)


class StubClient:
    def __init__(self, status: str = "Unshipped", shipped: int = 0) -> None:
        self.seller = Seller("A1SELLER", "ATVPDKIKX0DER", "USD")
        self.status, self.shipped = status, shipped

    def get_order(self, order_id: str) -> dict[str, Any]:
        return {"AmazonOrderId": order_id, "OrderStatus": self.status}

    def order_items(self, order_id: str) -> list[dict[str, Any]]:
        return [
            {"OrderItemId": "111", "SellerSKU": "MUG", "QuantityOrdered": 2, "QuantityShipped": self.shipped}
        ]


@dataclass
class Feeds:
    """What bulk.run_feed answers next, and what it was sent."""

    run: bulk.FeedRun
    sent: list[tuple[str, bytes]] = field(default_factory=list)


@pytest.fixture
def feeds(monkeypatch: pytest.MonkeyPatch) -> Feeds:
    state = Feeds(bulk.FeedRun("DONE", "501", report()))

    def run_feed(client: Any, feed_type: str, content_type: str, payload: bytes, **_: Any) -> bulk.FeedRun:
        assert content_type.startswith("text/xml")
        state.sent.append((feed_type, payload))
        return state.run

    monkeypatch.setattr(bulk, "run_feed", run_feed)
    return state


def test_cancel_order_answers_by_the_feed_outcome(feeds: Feeds) -> None:
    client: Any = StubClient()
    assert cancellation.cancel_order(client, ORDER, "inventory") == "feed 501"
    kind, payload = feeds.sent[0]
    assert kind == "POST_ORDER_ACKNOWLEDGEMENT_DATA" and b"<CancelReason>NoInventory<" in payload
    feeds.run = bulk.FeedRun("IN_PROGRESS", "502")
    assert cancellation.cancel_order(client, ORDER, "") == "feed 502"  # accepted, not sent again
    feeds.run = bulk.FeedRun("DONE", "503", report(("18234", "Order is Shipped")))
    with pytest.raises(FailedPrecondition) as refused:
        cancellation.cancel_order(client, ORDER, "")
    assert "18234: Order is Shipped" in refused.value.message
    feeds.run = bulk.FeedRun("FATAL", "504", report(("5000", "not an envelope")))
    with pytest.raises(FailedPrecondition):
        cancellation.cancel_order(client, ORDER, "")
    feeds.run = bulk.FeedRun("CANCELLED", "505")
    with pytest.raises(Unavailable):
        cancellation.cancel_order(client, ORDER, "")


def test_cancelled_shipped_and_partly_shipped_orders_send_no_feed(feeds: Feeds) -> None:
    assert cancellation.cancel_order(StubClient("Canceled"), ORDER, "") == f"{ORDER}/Canceled"  # type: ignore[arg-type]
    for client in (StubClient("Shipped"), StubClient("Unshipped", shipped=1)):
        with pytest.raises(FailedPrecondition) as refused:
            cancellation.cancel_order(client, ORDER, "")  # type: ignore[arg-type]
        assert refused.value.reason == cancellation.ORDER_NOT_CANCELLABLE
    assert feeds.sent == []
