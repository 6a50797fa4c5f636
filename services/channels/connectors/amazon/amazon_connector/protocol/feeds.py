"""JSON_LISTINGS_FEED (Feeds API 2021-06-30): the feed document and its processing report.

Feed (schemas/feeds/listings-feed-schema-v2.json): `{"header": {"sellerId", "version": "2.0",
"issueLocale"}, "messages": [{"messageId", "sku", "operationType": "PATCH", "productType",
"patches"}]}` (or "UPDATE" with "requirements" and "attributes", for publishing), at most 25,000 messages, messageId unique. Flow (CHANNELS.md 5.4):
createFeedDocument → PUT the bytes to the presigned url → createFeed → getFeed until DONE,
CANCELLED or FATAL → getFeedDocument(resultFeedDocumentId) → the report
(schemas/feeds/listings-feed-processing-report-schema-v2.json: `issues[{messageId, sku, code,
severity, message}]`, `summary`), gzipped when `compressionAlgorithm` is GZIP.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from amazon_connector.protocol.api import FEED_TYPE, ISSUE_LOCALE
from omnistock_common.egress import safe_text

FINISHED = ("DONE", "CANCELLED", "FATAL")
# Taken by Amazon, not processed yet (feeds_2021-06-30.json processingStatus).
FEED_PENDING_STATUSES = ("IN_QUEUE", "IN_PROGRESS")
# Largest processing report read (decompressed): a 10,000-message feed with several issues each.
MAX_REPORT_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class FeedMessage:
    """One message: PATCH (stock, prices, publishing updates) or UPDATE (a whole listing, with its
    `requirements` and `attributes`, as putListingsItem takes them; listings-feed-message-schema-v2)."""

    sku: str
    product_type: str
    patches: list[dict[str, Any]] = field(default_factory=list)
    operation_type: str = "PATCH"
    requirements: str = ""
    attributes: Mapping[str, Any] | None = None


def _message(message_id: int, message: FeedMessage) -> dict[str, Any]:
    body: dict[str, Any] = {
        "messageId": message_id,
        "sku": message.sku,
        "operationType": message.operation_type,
        "productType": message.product_type,
    }
    if message.operation_type == "UPDATE":
        body["requirements"] = message.requirements or "LISTING"
        body["attributes"] = dict(message.attributes or {})
    else:
        body["patches"] = message.patches
    return body


def feed_document(seller_id: str, messages: Sequence[FeedMessage]) -> dict[str, Any]:
    """The feed's JSON (sent compact); message i has messageId i + 1 (the report names it)."""
    body = {
        "header": {"sellerId": seller_id, "version": "2.0", "issueLocale": ISSUE_LOCALE},
        "messages": [_message(index + 1, message) for index, message in enumerate(messages)],
    }
    return body


def create_feed_body(marketplace_id: str, document_id: str, feed_type: str = FEED_TYPE) -> dict[str, Any]:
    return {"feedType": feed_type, "marketplaceIds": [marketplace_id], "inputFeedDocumentId": document_id}


def report_bytes(content: bytes, compression: str) -> bytes:
    """The report's JSON bytes; ValueError when it cannot be read (bad gzip, too large)."""
    if compression.upper() == "GZIP":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(content)) as stream:
                content = stream.read(MAX_REPORT_BYTES + 1)
        except (OSError, EOFError) as exc:
            raise ValueError("the processing report is not valid gzip") from exc
    elif compression:
        raise ValueError(f"unknown compressionAlgorithm {safe_text(compression, 20)!r}")
    if len(content) > MAX_REPORT_BYTES:
        raise ValueError("the processing report is too large")
    return content


def report_errors(report: Any, count: int) -> dict[int, str]:
    """{messageId: the ERROR issues' messages} of a processing report (messages 1..count)."""
    issues = report.get("issues") if isinstance(report, Mapping) else None
    if not isinstance(issues, list):
        raise ValueError("the processing report has no issues list")
    errors: dict[int, list[str]] = {}
    for issue in issues:
        if not isinstance(issue, Mapping) or str(issue.get("severity", "")).upper() != "ERROR":
            continue
        message_id = issue.get("messageId")
        if isinstance(message_id, int) and 1 <= message_id <= count:
            text = (
                f"{issue.get('code')}: {issue.get('message')}"
                if issue.get("code")
                else str(issue.get("message"))
            )
            errors.setdefault(message_id, []).append(text)
    return {k: safe_text("; ".join(v), 300) for k, v in errors.items()}


def fatal_message(report: Any) -> str:
    """Why a whole feed failed (FATAL), from its report's issues without a messageId."""
    issues = report.get("issues") if isinstance(report, Mapping) else None
    texts = [
        str(i.get("message") or "")
        for i in issues or []
        if isinstance(i, Mapping) and not isinstance(i.get("messageId"), int)
    ]
    return safe_text("; ".join(t for t in texts if t), 300) or "Amazon refused the feed as a whole (FATAL)"
