"""Feeds API 2021-06-30 with JSON_LISTINGS_FEED (PATCH, UPDATE, DELETE messages) and
POST_ORDER_ACKNOWLEDGEMENT_DATA (acknowledgement.py), as the sandbox serves it.

- `POST /feeds/2021-06-30/documents` {contentType} → 201 {feedDocumentId, url}: `url` stands in for
  the presigned S3 URL (PUT the bytes there, no SP-API token; it expires after 5 minutes).
- `POST /feeds/2021-06-30/feeds` {feedType, marketplaceIds, inputFeedDocumentId} → 202 {feedId}.
- `GET /feeds/2021-06-30/feeds/{feedId}` → processingStatus IN_QUEUE → IN_PROGRESS → DONE, one
  step per poll (`AmazonConfig.feed_polls`); FATAL for a document that is not a listings feed.
  DONE (and FATAL) carry resultFeedDocumentId.
- `GET /feeds/2021-06-30/documents/{id}` → {feedDocumentId, url, compressionAlgorithm: GZIP}: the
  processing report (schemas/feeds/listings-feed-processing-report-schema-v2.json: header,
  issues[{messageId, sku, code, severity, message}], summary) is gzipped, as Amazon may do.
Sources: amzn/selling-partner-api-models models/feeds-api-model/feeds_2021-06-30.json and
schemas/feeds/listings-feed-schema-v2.json (at most 25,000 messages, messageId unique).
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import time
from typing import Any

from flask import Flask, Response, request

from channel_sandboxes.amazon.acknowledgement import FEED_TYPE as ACK_FEED_TYPE
from channel_sandboxes.amazon.acknowledgement import process_acknowledgements
from channel_sandboxes.amazon.acknowledgement import report as acknowledgement_report
from channel_sandboxes.amazon.catalog import delete_issues, put_issues
from channel_sandboxes.amazon.sandbox import AmazonSandbox, sp_error
from channel_sandboxes.amazon.state import AmazonState, Document, Feed
from channel_sandboxes.common import iso_z, json_response, utcnow

FEEDS = "/feeds/2021-06-30"
FEED_TYPES = ("JSON_LISTINGS_FEED", ACK_FEED_TYPE)
MAX_MESSAGES = 25_000
URL_TTL_SECONDS = 300


def _signature(secret: str, document_id: str, expires: int) -> str:
    return hmac.new(secret.encode(), f"{document_id}:{expires}".encode(), hashlib.sha256).hexdigest()


def process_feed(state: AmazonState, feed: Feed, content: bytes) -> dict[str, Any]:
    """Apply a JSON_LISTINGS_FEED and return its processing report (or raise ValueError: FATAL)."""
    try:
        body = json.loads(content)
    except ValueError as exc:
        raise ValueError("The feed is not valid JSON.") from exc
    header = body.get("header") if isinstance(body, dict) else None
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(header, dict) or header.get("version") != "2.0" or not isinstance(messages, list):
        raise ValueError("The feed needs a header with version 2.0 and a list of messages.")
    if header.get("sellerId") != state.seller_id:
        raise ValueError("The feed's sellerId is not the submitting selling partner.")
    if not 1 <= len(messages) <= MAX_MESSAGES:
        raise ValueError(f"A feed holds 1 to {MAX_MESSAGES} messages.")
    issues: list[dict[str, Any]] = []
    seen: set[Any] = set()
    accepted = invalid = 0
    for message in messages:
        message_id = message.get("messageId") if isinstance(message, dict) else None
        sku = str(message.get("sku", "")) if isinstance(message, dict) else ""
        if not isinstance(message_id, int) or message_id in seen:
            problems = [
                {"code": "4000000", "severity": "ERROR", "message": "messageId must be a unique integer."}
            ]
        elif message.get("operationType") == "DELETE":
            problems = delete_issues(state, sku)
        elif message.get("operationType") not in ("PATCH", "UPDATE") or not message.get("productType"):
            problems = [
                {
                    "code": "4000001",
                    "severity": "ERROR",
                    "message": "The sandbox processes PATCH, UPDATE and DELETE messages with a productType.",
                }
            ]
        elif message["operationType"] == "UPDATE":
            problems = put_issues(
                state,
                sku,
                str(message["productType"]),
                str(message.get("requirements") or "LISTING"),
                message.get("attributes"),
                apply=True,
            )
        else:
            problems = state.patch_issues(sku, message.get("patches"), apply=True)
        seen.add(message_id)
        for problem in problems:
            issues.append(
                {
                    "messageId": message_id,
                    "sku": sku,
                    "code": problem["code"],
                    "severity": problem["severity"],
                    "message": problem["message"],
                    **(
                        {"attributeName": problem["attributeNames"][0]}
                        if problem.get("attributeNames")
                        else {}
                    ),
                }
            )
        if any(p["severity"] == "ERROR" for p in problems):
            invalid += 1
        else:
            accepted += 1
    return {
        "header": {"sellerId": state.seller_id, "version": "2.0", "feedId": feed.feed_id},
        "issues": issues,
        "summary": {
            "errors": sum(1 for i in issues if i["severity"] == "ERROR"),
            "warnings": sum(1 for i in issues if i["severity"] == "WARNING"),
            "messagesProcessed": len(messages),
            "messagesAccepted": accepted,
            "messagesInvalid": invalid,
        },
    }


def register_feed_routes(app: Flask, sandbox: AmazonSandbox) -> None:
    state, cfg = sandbox.state, sandbox.config

    def document_url(document_id: str) -> str:
        expires = int(time.time()) + URL_TTL_SECONDS
        signature = _signature(cfg.client_secret, document_id, expires)
        return f"{request.host_url.rstrip('/')}/_s3/feeds/{document_id}?X-Amz-Expires={expires}&X-Amz-Signature={signature}"

    def feed_json(feed: Feed) -> dict[str, Any]:
        body: dict[str, Any] = {
            "feedId": feed.feed_id,
            "feedType": feed.feed_type,
            "marketplaceIds": feed.marketplace_ids,
            "createdTime": iso_z(feed.created),
            "processingStatus": feed.status,
        }
        if feed.started:
            body["processingStartTime"] = iso_z(feed.started)
        if feed.ended:
            body["processingEndTime"] = iso_z(feed.ended)
        if feed.result_document_id:
            body["resultFeedDocumentId"] = feed.result_document_id
        return body

    @app.post(f"{FEEDS}/documents")
    @sandbox.api("createFeedDocument")
    def create_document() -> Response:
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not body.get("contentType"):
            return sp_error(400, "InvalidInput", "Request body requires 'contentType'.")
        with state.lock:
            document_id = f"amzn1.tortuga.4.na.{state.next_number():08d}"
            state.documents[document_id] = Document(document_id, str(body["contentType"]))
        return json_response({"feedDocumentId": document_id, "url": document_url(document_id)}, 201)

    def signed(document_id: str) -> bool:
        try:
            expires = int(request.args.get("X-Amz-Expires", "0"))
        except ValueError:
            return False
        given = request.args.get("X-Amz-Signature", "")
        return expires >= time.time() and hmac.compare_digest(
            given, _signature(cfg.client_secret, document_id, expires)
        )

    @app.put("/_s3/feeds/<document_id>")
    def upload(document_id: str) -> Response:
        sandbox.stats.record(["s3Upload"])
        if not signed(document_id):
            return Response("<Error><Code>AccessDenied</Code></Error>", 403, mimetype="application/xml")
        with state.lock:
            document = state.documents.get(document_id)
            if document is None or document.compression:
                return Response("<Error><Code>NoSuchKey</Code></Error>", 404, mimetype="application/xml")
            document.content, document.uploaded = request.get_data(), True
        return Response("", 200)

    @app.get("/_s3/feeds/<document_id>")
    def download(document_id: str) -> Response:
        sandbox.stats.record(["s3Download"])
        if not signed(document_id):
            return Response("<Error><Code>AccessDenied</Code></Error>", 403, mimetype="application/xml")
        with state.lock:
            document = state.documents.get(document_id)
            if document is None:
                return Response("<Error><Code>NoSuchKey</Code></Error>", 404, mimetype="application/xml")
            return Response(document.content, 200, mimetype="application/octet-stream")

    @app.post(f"{FEEDS}/feeds")
    @sandbox.api("createFeed")
    def create_feed() -> Response:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return sp_error(400, "InvalidInput", "Request body must be a JSON object.")
        feed_type = body.get("feedType")
        if feed_type not in FEED_TYPES:
            return sp_error(
                400, "InvalidInput", f"The sandbox processes feedType {' and '.join(FEED_TYPES)} only."
            )
        marketplaces = body.get("marketplaceIds")
        if not isinstance(marketplaces, list) or not marketplaces:
            return sp_error(400, "InvalidInput", "Request body requires 'marketplaceIds'.")
        refused = sandbox.check_marketplaces(",".join(map(str, marketplaces)))
        if refused is not None:
            return refused
        with state.lock:
            document = state.documents.get(str(body.get("inputFeedDocumentId", "")))
            if document is None or not document.uploaded:
                return sp_error(400, "InvalidInput", "'inputFeedDocumentId' names no uploaded feed document.")
            feed = Feed(
                f"{50000 + state.next_number()}",
                str(feed_type),
                marketplaces,
                document.document_id,
                utcnow(),
            )
            state.feeds[feed.feed_id] = feed
        return json_response({"feedId": feed.feed_id}, 202)

    @app.get(f"{FEEDS}/feeds/<feed_id>")
    @sandbox.api("getFeed")
    def get_feed(feed_id: str) -> Response:
        with state.lock:
            feed = state.feeds.get(feed_id)
            if feed is None:
                return sp_error(404, "NotFound", f"Feed {feed_id} not found.")
            if feed.status in ("IN_QUEUE", "IN_PROGRESS"):
                feed.polls += 1
                if feed.polls >= cfg.feed_polls:
                    _finish(state, feed)
                elif feed.status == "IN_QUEUE":
                    feed.status, feed.started = "IN_PROGRESS", utcnow()
            return json_response(feed_json(feed))

    @app.get(f"{FEEDS}/documents/<document_id>")
    @sandbox.api("getFeedDocument")
    def get_document(document_id: str) -> Response:
        with state.lock:
            document = state.documents.get(document_id)
            if document is None:
                return sp_error(404, "NotFound", f"Feed document {document_id} not found.")
            body = {"feedDocumentId": document_id, "url": document_url(document_id)}
            if document.compression:
                body["compressionAlgorithm"] = document.compression
        return json_response(body)

    @app.get("/_sandbox/feeds")
    def feeds_view() -> Response:
        with state.lock:
            return json_response({"feeds": [feed_json(f) for f in state.feeds.values()]})


def _finish(state: AmazonState, feed: Feed) -> None:
    """Process the feed now (under the state lock) and store its gzipped processing report."""
    feed.started = feed.started or utcnow()
    document = state.documents[feed.input_document_id]
    if feed.feed_type == ACK_FEED_TYPE:
        _finish_acknowledgements(state, feed, document.content)
        return
    try:
        report = process_feed(state, feed, document.content)
        feed.status = "DONE"
    except ValueError as exc:
        report = {
            "header": {"sellerId": state.seller_id, "version": "2.0", "feedId": feed.feed_id},
            "issues": [{"code": "FATAL", "severity": "ERROR", "message": str(exc)}],
            "summary": {
                "errors": 1,
                "warnings": 0,
                "messagesProcessed": 0,
                "messagesAccepted": 0,
                "messagesInvalid": 0,
            },
        }
        feed.status = "FATAL"
    result_id = f"amzn1.tortuga.4.na.{state.next_number():08d}"
    state.documents[result_id] = Document(
        result_id, "application/json", gzip.compress(json.dumps(report).encode()), True, "GZIP"
    )
    feed.result_document_id, feed.ended = result_id, utcnow()


def _finish_acknowledgements(state: AmazonState, feed: Feed, content: bytes) -> None:
    """An order acknowledgement feed: its XML report (FATAL with one error when unreadable)."""
    try:
        report = process_acknowledgements(state, feed, content)
        feed.status = "DONE"
    except ValueError as exc:
        report = acknowledgement_report(state.seller_id, feed.feed_id, 0, [("0", "5000", str(exc))])
        feed.status = "FATAL"
    result_id = f"amzn1.tortuga.4.na.{state.next_number():08d}"
    state.documents[result_id] = Document(result_id, "text/xml", gzip.compress(report), True, "GZIP")
    feed.result_document_id, feed.ended = result_id, utcnow()
