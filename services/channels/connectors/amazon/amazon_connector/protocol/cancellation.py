"""Seller cancellation of an MFN order (pure): the order acknowledgement feed and its report.

Orders v0 has no cancel operation (ordersV0.json; Orders 2026-01-01 in the models, commit
34dc93fe of 2026-08-05, has only searchOrders and getOrder). A seller cancels through the Feeds
API with feedType POST_ORDER_ACKNOWLEDGEMENT_DATA (XML, OrderAcknowledgement.xsd: "acknowledges or
cancels an order"; Source: https://developer-docs.amazon.com/sp-api/docs/order-feed-type-values,
which lists the order feed types; the XML one is also listed by Amazon's LATAM integration guide
https://pt-br-group.readme.io/amazon-latam/reference/feeds-orders). An OrderAcknowledgement with
StatusCode Failure cancels the whole order, each Item naming its AmazonOrderItemCode and a
CancelReason; it must not be sent once an item has shipped (Amazon would refund the whole order).
For every CancelReason but NoInventory Amazon puts the units back in the listing's stock.
[M]: the envelope (AmazonEnvelope / Header / DocumentVersion / MerchantIdentifier / MessageType /
Message / MessageID), the CancelReason values and the XML processing report (ProcessingReport /
StatusCode / ProcessingSummary MessagesProcessed, MessagesSuccessful, MessagesWithError /
Result ResultCode, ResultMessageCode, ResultDescription) are the MWS-era XSDs as integrators
document them; the developer-docs page names no element. The docs also show a newer `cancelOrder`
operation (https://developer-docs.amazon.com/sp-api/reference/cancelorder: reasons NO_INVENTORY,
BUYER_CANCELLED, ...), whose API version and path no published model names yet: not used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from omnistock_common.egress import safe_text

FEED_TYPE = "POST_ORDER_ACKNOWLEDGEMENT_DATA"
CONTENT_TYPE = "text/xml; charset=UTF-8"
CANCEL_REASONS = (
    "NoInventory",
    "ShippingAddressUndeliverable",
    "CustomerExchange",
    "BuyerCanceled",
    "GeneralAdjustment",
    "CarrierCreditDecision",
    "RiskAssessmentInformationNotValid",
    "CarrierCoverageFailure",
    "CustomerReturn",
    "MerchandiseNotReceived",
)
# OmniStock's (and Shopify's) words for why → Amazon's CancelReason.
REASON_WORDS = {
    "customer": "BuyerCanceled",
    "buyer": "BuyerCanceled",
    "inventory": "NoInventory",
    "out_of_stock": "NoInventory",
    "fraud": "RiskAssessmentInformationNotValid",
    "address": "ShippingAddressUndeliverable",
}
DEFAULT_REASON = "BuyerCanceled"
REASON_SETTING = "cancel_reason"
# Largest report read (a one-order feed's report is a few hundred bytes).
MAX_REPORT_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ReportResult:
    """What the processing report says: the number of messages with an error and their words."""

    with_error: int
    errors: tuple[str, ...]


def cancel_reason(reason: str, setting: str = "") -> str:
    """Amazon's CancelReason for OmniStock's reason text: an Amazon code named as such (any case),
    a known word, else the connection's `cancel_reason` setting, else BuyerCanceled."""
    for text in (reason, setting):
        key = text.strip().replace(" ", "").replace("-", "").lower()
        for code in CANCEL_REASONS:
            if key == code.lower():
                return code
        word = text.strip().lower().replace(" ", "_")
        if word in REASON_WORDS:
            return REASON_WORDS[word]
    return DEFAULT_REASON


def cancel_problem(items: Sequence[Mapping[str, Any]]) -> str:
    """Why the order cannot be cancelled by a Failure acknowledgement ("" when it can)."""
    if not items:
        return "the order has no items"
    shipped = [
        str(i.get("SellerSKU") or i.get("OrderItemId")) for i in items if _count(i.get("QuantityShipped")) > 0
    ]
    if shipped:
        return (
            f"items {', '.join(shipped)} already shipped: Amazon cancels only unshipped orders "
            "(refund or return it in Seller Central)"
        )
    return ""


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def acknowledgement_document(seller_id: str, order_id: str, item_ids: Sequence[str], reason: str) -> bytes:
    """The feed's XML: one message, StatusCode Failure, every item with the CancelReason."""
    items = "".join(
        f"<Item><AmazonOrderItemCode>{escape(i)}</AmazonOrderItemCode>"
        f"<CancelReason>{escape(reason)}</CancelReason></Item>"
        for i in item_ids
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<AmazonEnvelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:noNamespaceSchemaLocation="amzn-envelope.xsd">'
        f"<Header><DocumentVersion>1.01</DocumentVersion><MerchantIdentifier>{escape(seller_id)}"
        "</MerchantIdentifier></Header><MessageType>OrderAcknowledgement</MessageType>"
        "<Message><MessageID>1</MessageID><OrderAcknowledgement>"
        f"<AmazonOrderID>{escape(order_id)}</AmazonOrderID><StatusCode>Failure</StatusCode>{items}"
        "</OrderAcknowledgement></Message></AmazonEnvelope>"
    ).encode()


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(node: ElementTree.Element, name: str) -> list[ElementTree.Element]:
    return [e for e in node.iter() if _local(e.tag) == name]


def _text(node: ElementTree.Element, name: str) -> str:
    found = [e for e in node if _local(e.tag) == name]
    return (found[0].text or "").strip() if found else ""


def read_report(content: bytes) -> ReportResult:
    """The XML processing report; ValueError when it is not one (too large, not XML, no report).
    DTDs and entities are refused before parsing (the report is remote input)."""
    if len(content) > MAX_REPORT_BYTES:
        raise ValueError("the processing report is too large")
    if b"<!DOCTYPE" in content or b"<!ENTITY" in content:
        raise ValueError("the processing report declares a DTD")
    try:
        root = ElementTree.fromstring(content)  # no DTD or entities: checked above
    except ElementTree.ParseError as exc:
        raise ValueError("the processing report is not XML") from exc
    reports = _find(root, "ProcessingReport")
    if not reports:
        raise ValueError("the document has no ProcessingReport")
    report = reports[0]
    summary = next(iter(_find(report, "ProcessingSummary")), None)
    with_error = 0
    if summary is not None:
        try:
            with_error = int(_text(summary, "MessagesWithError") or "0")
        except ValueError:
            with_error = 0
    errors = []
    for result in _find(report, "Result"):
        if _text(result, "ResultCode").lower() != "error":
            continue
        code, words = _text(result, "ResultMessageCode"), _text(result, "ResultDescription")
        errors.append(safe_text(f"{code}: {words}" if code else words, 300))
    return ReportResult(max(with_error, len(errors)), tuple(errors))
