"""Order actions sent back to the channels: fulfilments and cancellations the orders service asks
for (`orders.fulfillment_requested`, `orders.cancel_requested`), delivered through the connector
until the channel accepts or refuses for good, then announced as `channels.order_action_synced`.

Why a durable row per request: a shop may be down for hours, and the merchant's "shipped" must
still reach it. So `accept_request` stores each (signed) request once, UNIQUE per (tenant, order,
action, fulfillment): a repeated event is the same row. `send_due` (a worker timer) takes due rows
with a lease (a conditional UPDATE, so replicas never send one row at once; a sender that dies
leaves it due again when the lease ends) and calls the connector through
`ConnectionCaller.with_connection`, the path stock pushes take (token refresh, health, one sync-log
row per call). Then, in one transaction with the outcome event:
- accepted: `synced` with the channel's id (fulfilment id; Shopify's cancellation job);
- refused for good (INVALID_ARGUMENT, FAILED_PRECONDITION, NOT_FOUND): `failed` with the message;
- anything else (unavailable, rate limited, timeouts): tried again after exponential backoff with
  jitter (a RetryInfo delay is a floor), with no limit;
- a disconnected connection: it waits, without a call, until it is reconnected.
Plain functions over the SyncEngine; channels.worker is the nameko edge.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from google.rpc import error_details_pb2

from channels import events, mapping
from channels.connector_calls import SyncLogRecord
from channels.domain import ConnectionStatus
from channels.order_repository import ACTION_FAILED, ACTION_PENDING, ACTION_SYNCED, OrderAction
from channels.repository import Repository
from channels.sync.engine import SyncEngine
from omnistock_common.egress import safe_text
from omnistock_common.errors import Code, DomainError, NotFound

log = logging.getLogger(__name__)

FULFILLMENT = "fulfillment"
CANCEL = "cancel"
REQUEST_EVENTS = {FULFILLMENT: "orders.fulfillment_requested", CANCEL: "orders.cancel_requested"}
ACTION_SYNCED_EVENT = "channels.order_action_synced"
# The sync-log operation of each action (one row per connector call).
OPERATIONS = {FULFILLMENT: "create_fulfillment", CANCEL: "cancel_order"}
# Connector answers that mean "the channel refused this request; asking again will not help".
REFUSALS = frozenset({Code.INVALID_ARGUMENT, Code.FAILED_PRECONDITION, Code.NOT_FOUND})
MAX_ID = 64
MAX_TEXT = 255
MAX_LINES = 500


@dataclass(frozen=True)
class Attempt:
    """What one attempt of one action came to: synced, failed, retry or waiting."""

    action_id: str
    outcome: str
    message: str = ""


def _text(value: Any, limit: int = MAX_TEXT) -> str:
    return str(value).strip()[:limit] if isinstance(value, str) else ""


def _lines(value: Any) -> list[dict[str, Any]] | None:
    """The requested lines as stored (None when malformed: each needs a line id or SKU and a
    positive quantity)."""
    if value in (None, []):
        return []
    if not isinstance(value, list) or len(value) > MAX_LINES:
        return None
    lines = []
    for line in value:
        if not isinstance(line, Mapping):
            return None
        quantity = line.get("quantity")
        entry = {
            "external_line_id": _text(line.get("external_line_id")),
            "sku": _text(line.get("sku"), 128),
            "quantity": quantity if isinstance(quantity, int) and not isinstance(quantity, bool) else 0,
        }
        if entry["quantity"] <= 0 or not (entry["external_line_id"] or entry["sku"]):
            return None
        lines.append(entry)
    return lines


def _request(action: str, payload: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """(what to send, why it cannot be sent or "")."""
    if action == CANCEL:
        return {"reason": _text(payload.get("reason"), 1000)}, ""
    lines = _lines(payload.get("lines"))
    request = {
        "carrier": _text(payload.get("carrier")),
        "tracking_number": _text(payload.get("tracking_number")),
        "tracking_url": _text(payload.get("tracking_url"), 2048),
        "lines": lines or [],
    }
    return (
        request,
        "" if lines is not None else "lines must each name a line id or SKU and a positive quantity",
    )


def accept_request(
    engine: SyncEngine, action: str, payload: Mapping[str, Any], secret: str, *, now: datetime | None = None
) -> bool:
    """Store a signed `orders.fulfillment_requested` / `orders.cancel_requested` once; True when it
    is new. A request that names its order but cannot be sent (no connection or external order id,
    malformed lines) is stored as failed and announced so at once; one that names no order is
    dropped (there is nobody to tell)."""
    if not events.verified(secret, REQUEST_EVENTS[action], payload):
        return False
    tenant_id, order_id = _text(payload.get("tenant_id"), MAX_ID), _text(payload.get("order_id"), MAX_ID)
    fulfillment_id = _text(payload.get("fulfillment_id"), MAX_ID) if action == FULFILLMENT else ""
    if not tenant_id or not order_id or (action == FULFILLMENT and not fulfillment_id):
        log.warning("%s without tenant, order or fulfillment id; dropped", REQUEST_EVENTS[action])
        return False
    connection_id = _text(payload.get("connection_id"), 36)
    external_order_id = _text(payload.get("external_order_id"))
    request, problem = _request(action, payload)
    if not connection_id or not external_order_id:
        problem = "the request names no connection or no external order id"
    moment = now or engine.clock()
    row = OrderAction(
        id=str(uuid.uuid4()),
        tenant_id=tenant_id,
        order_id=order_id,
        action=action,
        fulfillment_id=fulfillment_id,
        connection_id=connection_id,
        external_order_id=external_order_id,
        request=request,
        status=ACTION_FAILED if problem else ACTION_PENDING,
        attempts=0,
        next_attempt_at=moment,
        external_id="",
        last_error=problem,
    )

    def work(repo: Repository) -> bool:
        stored = repo.insert_order_action(
            action_id=row.id,
            tenant_id=tenant_id,
            order_id=order_id,
            action=action,
            fulfillment_id=fulfillment_id,
            connection_id=connection_id,
            external_order_id=external_order_id,
            request=request,
            status=row.status,
            last_error=problem,
            now=moment,
        )
        if stored and problem:
            _announce(repo, row, ACTION_FAILED, "", problem)
        return stored

    return bool(engine.uow.run(work))


def _announce(repo: Repository, action: OrderAction, outcome: str, external_id: str, message: str) -> None:
    """`channels.order_action_synced`, exactly the fields of docs/architecture.md ("Order events")."""
    payload: dict[str, Any] = {
        "tenant_id": action.tenant_id,
        "order_id": action.order_id,
        "action": action.action,
    }
    if action.action == FULFILLMENT:
        payload["fulfillment_id"] = action.fulfillment_id
    payload.update({"outcome": outcome, "external_id": external_id, "message": message})
    repo.add_event(action.tenant_id, ACTION_SYNCED_EVENT, payload)


# ---------------------------------------------------------------------------- sending
def send_due(engine: SyncEngine, *, now: datetime | None = None) -> list[Attempt]:
    """One pass of the sender: every due action it can take, one after the other."""
    moment = now or engine.clock()
    settings = engine.settings
    with engine.uow.transaction() as repo:
        due = repo.due_order_actions_any_tenant(moment, settings.order_action_batch)
    attempts = []
    for action in due:
        lease = moment + settings.order_action_lease
        if not engine.uow.run(
            lambda repo, action=action, lease=lease: repo.claim_order_action(action, lease, moment)
        ):
            continue  # another sender took it
        attempts.append(send_one(engine, action))
    return attempts


def send_one(engine: SyncEngine, action: OrderAction) -> Attempt:
    """Make one attempt of a claimed action and record what came of it."""
    try:
        external_id = _call_connector(engine, action)
    except DomainError as exc:
        if _disconnected(engine, action):
            return _wait(engine, action, engine.settings.disconnected_retry, str(exc), counted=False)
        if exc.code in REFUSALS:
            return _finish(engine, action, ACTION_FAILED, "", str(exc), attempts=action.attempts + 1)
        return _wait(engine, action, _backoff(engine, action.attempts + 1, _retry_after(exc)), str(exc))
    except Exception as exc:  # an outage of our own (Redis, the database): try again later
        log.exception("order action %s failed unexpectedly", action.id, extra={"tenant": action.tenant_id})
        return _wait(engine, action, _backoff(engine, action.attempts + 1, None), type(exc).__name__)
    return _finish(engine, action, ACTION_SYNCED, external_id, "", attempts=action.attempts + 1)


def _call_connector(engine: SyncEngine, action: OrderAction) -> str:
    request = action.request
    if action.action == FULFILLMENT:
        lines = request.get("lines") or []
        reply = engine.caller.with_connection(
            action.tenant_id,
            action.connection_id,
            OPERATIONS[FULFILLMENT],
            lambda stub, conn: stub.CreateFulfillment(
                mapping.create_fulfillment_request(
                    conn,
                    action.external_order_id,
                    carrier=str(request.get("carrier") or ""),
                    tracking_number=str(request.get("tracking_number") or ""),
                    tracking_url=str(request.get("tracking_url") or ""),
                    lines=lines,
                )
            ),
            skus=[str(line["sku"]) for line in lines if line.get("sku")],
            describe=lambda reply: SyncLogRecord(
                message=f"order {action.external_order_id}: fulfillment {mapping.fulfillment_external_id(reply)}"
            ),
        )
        return mapping.fulfillment_external_id(reply)
    reply = engine.caller.with_connection(
        action.tenant_id,
        action.connection_id,
        OPERATIONS[CANCEL],
        lambda stub, conn: stub.CancelOrder(
            mapping.cancel_order_request(conn, action.external_order_id, str(request.get("reason") or ""))
        ),
        describe=lambda reply: SyncLogRecord(
            message=f"order {action.external_order_id}: cancelled ({mapping.cancellation_external_id(reply)})"
        ),
    )
    return mapping.cancellation_external_id(reply)


def _disconnected(engine: SyncEngine, action: OrderAction) -> bool:
    """The connection cannot be called until it is reconnected (it was, or a call just found its
    credentials dead)."""
    try:
        stored = engine.caller.load(action.tenant_id, action.connection_id)
    except NotFound:
        return False
    return stored.connection.status is ConnectionStatus.DISCONNECTED


def _finish(
    engine: SyncEngine, action: OrderAction, outcome: str, external_id: str, message: str, *, attempts: int
) -> Attempt:
    now = engine.clock()
    cleaned = safe_text(message, 2000) if message else ""

    def work(repo: Repository) -> None:
        finished = repo.finish_order_action(
            action,
            status=outcome,
            attempts=attempts,
            next_attempt_at=now,
            external_id=external_id,
            last_error=cleaned,
            now=now,
        )
        if finished:  # not when a sender whose lease ran out finished it already
            _announce(repo, action, outcome, external_id, cleaned)

    engine.uow.run(work)
    return Attempt(action.id, outcome, cleaned)


def _wait(
    engine: SyncEngine, action: OrderAction, delay: timedelta, message: str, *, counted: bool = True
) -> Attempt:
    now = engine.clock()
    attempts = action.attempts + 1 if counted else action.attempts
    engine.uow.run(
        lambda repo: repo.finish_order_action(
            action,
            status=ACTION_PENDING,
            attempts=attempts,
            next_attempt_at=now + delay,
            external_id="",
            last_error=safe_text(message, 2000),
            now=now,
        )
    )
    return Attempt(action.id, "retry" if counted else "waiting", message)


def _backoff(engine: SyncEngine, attempt: int, retry_after: float | None) -> timedelta:
    """base * 2^(attempt-1), capped, times a random 0.5..1 (so a fleet of retries spreads out); a
    delay the channel asked for is a floor."""
    settings = engine.settings
    base = settings.order_action_backoff_base.total_seconds()
    cap = settings.order_action_backoff_cap.total_seconds()
    seconds = min(cap, base * 2 ** min(attempt - 1, 30)) * random.uniform(0.5, 1.0)
    if retry_after:
        seconds = max(seconds, retry_after)
    return timedelta(seconds=seconds)


def _retry_after(exc: DomainError) -> float | None:
    if exc.retry_after is not None:
        return exc.retry_after
    for detail in exc.details:
        if isinstance(detail, error_details_pb2.RetryInfo):
            return detail.retry_delay.seconds + detail.retry_delay.nanos / 1e9
    return None


__all__ = [
    "ACTION_SYNCED_EVENT",
    "CANCEL",
    "FULFILLMENT",
    "OPERATIONS",
    "REQUEST_EVENTS",
    "Attempt",
    "accept_request",
    "send_due",
    "send_one",
]
