"""Stock and price changes: a few as patchListingsItem calls, many as one JSON_LISTINGS_FEED.

Why two paths: patchListingsItem answers per SKU at once but costs a call each (usage plan 5/s,
burst 5); a feed is createFeedDocument + upload + createFeed + getFeed polls + the report,
whatever its size (createFeed: 0.0083/s, burst 15). Up to `PATCH_THRESHOLD` changes are patched;
more go as one feed, so a 2,000-SKU change is one feed, not 2,000 calls (CHANNELS.md 5.3, 5.4).

Outcomes per item: a patch ACCEPTED → APPLIED (Amazon applies it asynchronously, within
minutes), INVALID → REJECTED with the issues. A feed DONE → APPLIED unless its processing report
names the message with an ERROR (REJECTED with the issue); FATAL → REJECTED (the document was
refused as a whole); CANCELLED → RETRY (the next push sends the same absolute values again). A feed
still IN_QUEUE/IN_PROGRESS after AMAZON_FEED_WAIT_SECONDS is APPLIED like an ACCEPTED patch: Amazon
has taken it and processes feeds in minutes, and sending it again at every flush would spend
createFeed's budget (15 burst, one per two minutes) on duplicates; an item its report would have
refused is found by reconciliation's read-back, which pushes OmniStock's figure again.

Publishing (publishing.py) sends its listings the same two ways (`send_listings`): a few as
putListingsItem / patchListingsItem calls, more as one JSON_LISTINGS_FEED of UPDATE / PATCH
messages: one createFeed (burst 15, then one every two minutes) instead of hundreds of puts at 5/s.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from amazon_connector import protocol as p
from amazon_connector.client import AmazonClient, require_seller
from omnistock_common.errors import FailedPrecondition, ResourceExhausted, Unavailable
from omnistock_connector_kit.channel_http import ChannelHttpError
from omnistock_connector_kit.connector_base import CHANNEL_REJECTED, CHANNEL_UNAVAILABLE, map_channel_error

log = logging.getLogger(__name__)

# Time kept back from the call's deadline when polling a feed (the report still has to be read).
FEED_READ_RESERVE_SECONDS = 3.0


@dataclass(frozen=True)
class Change:
    """One listing change: the item's index in the request, its SKU on Amazon, its patches."""

    index: int
    sku: str
    product_type: str
    patches: list[dict[str, Any]]


@dataclass(frozen=True)
class FeedOutcome:
    status: str
    feed_id: str
    errors: dict[int, str]
    fatal: str = ""


def push_inventory(client: AmazonClient, items: Sequence[p.InventoryInput]) -> list[p.ItemResult]:
    """Absolute quantities (seller-fulfilled), one result per item in input order."""
    require_seller(client)
    changes = [
        Change(i, p.remote_sku(item), p.product_type(item.ids), [p.quantity_patch(item.quantity)])
        for i, item in enumerate(items)
    ]
    return _push(client, [item.sku for item in items], changes, {})


def push_prices(client: AmazonClient, items: Sequence[p.PriceInput]) -> list[p.ItemResult]:
    """Selling prices (our_price) in the marketplace's currency; another currency is REJECTED.
    Amazon's list price ("was" price) is not written."""
    seller = require_seller(client)
    refused: dict[int, str] = {}
    changes = []
    for i, item in enumerate(items):
        problem = p.price_problem(item.price.currency, seller.currency, item.price.amount_minor)
        if problem:
            refused[i] = problem
            continue
        patch = p.price_patch(seller.marketplace_id, item.price.amount_minor, item.price.currency)
        changes.append(Change(i, p.remote_sku(item), p.product_type(item.ids), [patch]))
    return _push(client, [item.sku for item in items], changes, refused)


def _push(
    client: AmazonClient, skus: Sequence[str], changes: Sequence[Change], refused: dict[int, str]
) -> list[p.ItemResult]:
    results: list[p.ItemResult | None] = [None] * len(skus)
    for index, message in refused.items():
        results[index] = p.ItemResult(skus[index], p.Outcome.REJECTED, message)
    messages = [p.FeedMessage(c.sku, c.product_type, c.patches) for c in changes]
    outcomes = send_listings(client, messages)
    for change, (outcome, message) in zip(changes, outcomes, strict=True):
        results[change.index] = p.ItemResult(skus[change.index], outcome, message)
    return [r for r in results if r is not None]


def send_listings(
    client: AmazonClient, messages: Sequence[p.FeedMessage], asins: dict[str, str] | None = None
) -> list[tuple[p.Outcome, str]]:
    """Up to PATCH_THRESHOLD messages as Listings Items calls, more as JSON_LISTINGS_FEED(s)."""
    if len(messages) <= p.PATCH_THRESHOLD:
        return send_each(client, messages, asins)
    return feed_outcomes(client, messages)


def send_each(
    client: AmazonClient, messages: Sequence[p.FeedMessage], asins: dict[str, str] | None = None
) -> list[tuple[p.Outcome, str]]:
    """One Listings Items call per message: patchListingsItem for a PATCH, putListingsItem for an
    UPDATE (`asins` collects the ASINs an accepted put names). A transient failure (retries
    exhausted) stops the run: the rest is RETRY; if nothing was sent successfully, the failure
    itself is raised (the caller gets RESOURCE_EXHAUSTED/UNAVAILABLE with RetryInfo)."""
    seller = client.seller
    outcomes: list[tuple[p.Outcome, str]] = []
    for position, message in enumerate(messages):
        params = {"marketplaceIds": seller.marketplace_id, "issueLocale": p.ISSUE_LOCALE}
        path = p.listing_path(seller.seller_id, message.sku)
        try:
            if message.operation_type == "UPDATE":
                body = {
                    "productType": message.product_type,
                    "requirements": message.requirements or "LISTING",
                    "attributes": dict(message.attributes or {}),
                }
                response = client.call("putListingsItem", "PUT", path, params=params, json=body)
            else:
                body = {"productType": message.product_type, "patches": message.patches}
                response = client.call("patchListingsItem", "PATCH", path, params=params, json=body)
        except ChannelHttpError as error:
            if not outcomes:
                raise map_channel_error(error) from error
            rest = [(p.Outcome.RETRY, str(error))] * (len(messages) - position)
            return outcomes + rest
        if response.status_code == 200:
            answer = p.submission(message.sku, response.json())
            if answer.asin and asins is not None:
                asins[message.sku] = answer.asin
            outcomes.append(
                (p.Outcome.APPLIED, "") if answer.accepted else (p.Outcome.REJECTED, answer.message)
            )
        elif 400 <= response.status_code < 500:
            outcomes.append(
                (p.Outcome.REJECTED, p.error_summary(_body(response)) or f"HTTP {response.status_code}")
            )
        else:
            outcomes.append((p.Outcome.RETRY, f"HTTP {response.status_code}"))
    return outcomes


def feed_outcomes(client: AmazonClient, messages: Sequence[p.FeedMessage]) -> list[tuple[p.Outcome, str]]:
    """One feed per MAX_FEED_MESSAGES messages, an outcome per message in order. A transient
    failure of the first feed is raised (RESOURCE_EXHAUSTED/UNAVAILABLE); of a later one, its
    items are RETRY."""
    outcomes: list[tuple[p.Outcome, str]] = []
    for chunk in p.chunked(messages, p.MAX_FEED_MESSAGES):
        try:
            outcome = submit_feed(client, chunk)
        except ChannelHttpError as error:
            if not outcomes:
                raise map_channel_error(error) from error
            outcomes.extend([(p.Outcome.RETRY, str(error))] * len(chunk))
            continue
        except (Unavailable, ResourceExhausted) as error:
            if not outcomes:
                raise
            outcomes.extend([(p.Outcome.RETRY, error.message)] * len(chunk))
            continue
        outcomes.extend(_feed_outcomes(outcome, len(chunk)))
    return outcomes


def _feed_outcomes(outcome: FeedOutcome, count: int) -> list[tuple[p.Outcome, str]]:
    if outcome.status == "DONE":
        return [
            (p.Outcome.REJECTED, outcome.errors[n]) if n in outcome.errors else (p.Outcome.APPLIED, "")
            for n in range(1, count + 1)
        ]
    if outcome.status == "FATAL":
        return [(p.Outcome.REJECTED, f"feed {outcome.feed_id}: {outcome.fatal}")] * count
    if outcome.status in p.FEED_PENDING_STATUSES:
        note = f"accepted in feed {outcome.feed_id} (still {outcome.status}; reconciliation checks it)"
        return [(p.Outcome.APPLIED, note)] * count
    return [
        (p.Outcome.RETRY, f"feed {outcome.feed_id} is {outcome.status}; sent again on the next push")
    ] * count


@dataclass(frozen=True)
class FeedRun:
    """A submitted feed: its last processingStatus and, when DONE or FATAL, the result document."""

    status: str
    feed_id: str
    report: bytes | None = None


def run_feed(
    client: AmazonClient,
    feed_type: str,
    content_type: str,
    payload: bytes,
    *,
    wait_seconds: float | None = None,
    poll_seconds: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> FeedRun:
    """Any feed: createFeedDocument → PUT the bytes → createFeed → getFeed until finished
    (bounded by the wait and the call's deadline) → the result document's bytes."""
    seller = client.seller
    wait = client.feed_wait if wait_seconds is None else wait_seconds
    poll = client.feed_poll if poll_seconds is None else poll_seconds
    document = client.check(
        client.call("createFeedDocument", "POST", p.FEED_DOCUMENTS_PATH, json={"contentType": content_type}),
        "createFeedDocument",
        ok=(201, 200),
    )
    document_id, url = (
        str((document or {}).get("feedDocumentId") or ""),
        str((document or {}).get("url") or ""),
    )
    if not document_id or not url:
        raise FailedPrecondition("createFeedDocument gave no feedDocumentId/url", reason=CHANNEL_REJECTED)
    upload = client.send(
        "feedDocumentTransfer",
        "PUT",
        url,
        content=payload,
        headers={"Content-Type": content_type},
        signed=False,
    )
    if upload.status_code >= 300:
        raise Unavailable(
            f"feed document upload failed (HTTP {upload.status_code})", reason=CHANNEL_UNAVAILABLE
        )
    created = client.check(
        client.call(
            "createFeed",
            "POST",
            p.FEEDS_PATH,
            json=p.create_feed_body(seller.marketplace_id, document_id, feed_type),
            idempotent=False,
        ),
        "createFeed",
        ok=(202, 200),
    )
    feed_id = str((created or {}).get("feedId") or "")
    if not feed_id:
        raise FailedPrecondition("createFeed gave no feedId", reason=CHANNEL_REJECTED)
    limit = clock() + _wait_budget(client, wait, clock)
    while True:
        feed = client.check(client.call("getFeed", "GET", f"{p.FEEDS_PATH}/{feed_id}"), "getFeed") or {}
        status = str(feed.get("processingStatus") or "")
        if status in p.FINISHED or clock() + poll > limit:
            break
        client.sleep(poll)
    log.info("feed %s (%s): %s", feed_id, feed_type, status)
    if status not in ("DONE", "FATAL"):
        return FeedRun(status or "IN_QUEUE", feed_id)
    return FeedRun(status, feed_id, _report(client, str(feed.get("resultFeedDocumentId") or "")))


def submit_feed(
    client: AmazonClient,
    messages: Sequence[p.FeedMessage],
    *,
    wait_seconds: float | None = None,
    poll_seconds: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> FeedOutcome:
    """One JSON_LISTINGS_FEED of `messages` and its per-message errors (run_feed)."""
    document = p.feed_document(client.seller.seller_id, messages)
    payload = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
    run = run_feed(
        client,
        p.FEED_TYPE,
        p.FEED_CONTENT_TYPE,
        payload,
        wait_seconds=wait_seconds,
        poll_seconds=poll_seconds,
        clock=clock,
    )
    if run.report is None:
        return FeedOutcome(run.status, run.feed_id, {})
    try:
        report = json.loads(run.report)
    except ValueError as exc:
        raise FailedPrecondition(f"processing report unreadable: {exc}", reason=CHANNEL_REJECTED) from None
    if run.status == "FATAL":
        return FeedOutcome(run.status, run.feed_id, {}, p.fatal_message(report))
    try:
        errors = p.report_errors(report, len(messages))
    except ValueError as exc:
        raise FailedPrecondition(f"feed {run.feed_id}: {exc}", reason=CHANNEL_REJECTED) from None
    return FeedOutcome(run.status, run.feed_id, errors)


def _wait_budget(client: AmazonClient, wait: float, clock: Callable[[], float]) -> float:
    """The configured wait, shortened to fit the call's deadline (the report is read after it)."""
    deadline = client.http.deadline
    if deadline is None:
        return wait
    return max(0.0, min(wait, deadline - clock() - FEED_READ_RESERVE_SECONDS))


def _report(client: AmazonClient, document_id: str) -> bytes:
    """The result document's bytes (gunzipped when compressionAlgorithm is GZIP)."""
    if not document_id:
        raise FailedPrecondition("the finished feed has no resultFeedDocumentId", reason=CHANNEL_REJECTED)
    info = (
        client.check(
            client.call("getFeedDocument", "GET", f"{p.FEED_DOCUMENTS_PATH}/{document_id}"), "getFeedDocument"
        )
        or {}
    )
    url = str(info.get("url") or "")
    if not url:
        raise FailedPrecondition("getFeedDocument gave no url", reason=CHANNEL_REJECTED)
    download = client.send("feedDocumentTransfer", "GET", url, signed=False)
    if download.status_code != 200:
        raise Unavailable(
            f"processing report download failed (HTTP {download.status_code})", reason=CHANNEL_UNAVAILABLE
        )
    try:
        return p.report_bytes(download.content, str(info.get("compressionAlgorithm") or ""))
    except ValueError as exc:
        raise FailedPrecondition(f"processing report unreadable: {exc}", reason=CHANNEL_REJECTED) from None


def _body(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
