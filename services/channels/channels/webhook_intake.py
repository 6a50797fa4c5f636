"""Webhook intake: the connector verifies the signature (ParseWebhook); a verified delivery is
recorded once (delivery id), order lines become in-flight commitments, and every refusal gets the
same answer. ParseWebhook's UNAUTHENTICATED means "bad signature on this request": it must
neither refresh a token nor disconnect the connection, so it does not use with_connection.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from collections.abc import Mapping

import grpc

from channels import domain, mapping, order_intake
from channels.connector_clients import (
    connection_context,
    failure_of,
    to_domain_error,
)
from channels.crypto import CredentialsCorrupt
from channels.deps import (
    ChannelsDeps,
    channel_label,
)
from channels.domain import (
    CHANNEL_TYPES,
    ChallengeAnswer,
    Credentials,
    WebhookReceipt,
)
from channels.repository import Repository
from channels.sync import in_flight, store
from omnistock_common.context import CallContext
from omnistock_common.errors import PermissionDenied, Unauthenticated

log = logging.getLogger(__name__)

WEBHOOK_RECEIVED_EVENT = "channels.webhook_received"


# Connector answers to AnswerWebhookChallenge that mean "this check fails".
_CHALLENGE_REFUSALS = frozenset(
    {
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.UNAUTHENTICATED,
    }
)
# Connector answers to ParseWebhook that mean "not a delivery we accept" (see ingest_webhook).
_WEBHOOK_REFUSALS = frozenset({grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.INVALID_ARGUMENT})
# Verifies nothing: unknown connection ids are checked against it (see _refuse_unknown_webhook).
_DUMMY_WEBHOOK_SECRET = secrets.token_urlsafe(32)
# Connectors refuse calls without a tenant; this one owns nothing.
_NO_TENANT = "webhook-without-connection"
WEBHOOK_REJECTED = "WEBHOOK_REJECTED"


def webhook_rejected() -> Unauthenticated:
    """The one answer to every refused webhook, whatever the reason (logged, never returned)."""
    return Unauthenticated("webhook rejected", reason=WEBHOOK_REJECTED)


def ingest_webhook(
    deps: ChannelsDeps, channel_type: str, connection_id: str, headers: Mapping[str, str], raw_body: bytes
) -> WebhookReceipt:
    """Verify (connector), dedupe, store; fast: one connector call and one INSERT.

    Every refusal (unknown connection, wrong type, bad signature, another shop, a topic not
    subscribed, a stale or misshapen delivery) is the same UNAUTHENTICATED and changes nothing,
    so the endpoint reveals neither which connection ids exist nor which check failed.
    """
    with deps.uow.transaction() as repo:
        stored = repo.get_connection_by_id_any_tenant(connection_id)
    lowered = {k.lower(): v for k, v in headers.items()}
    if stored is None or stored.connection.type != channel_type:
        return _refuse_unknown_webhook(deps, channel_type, lowered, raw_body)
    conn = stored.connection
    kind = CHANNEL_TYPES[conn.type]
    try:
        creds = deps.caller.decrypt(stored)
    except CredentialsCorrupt:
        log.error("webhook for connection %s: credentials do not decrypt", conn.id)
        raise
    request = mapping.parse_webhook_request(
        connection_context(
            connection_id=conn.id,
            tenant_id=conn.tenant_id,
            channel_type=conn.type,
            settings=conn.settings,
            credentials=creds,
        ),
        headers=lowered,
        raw_body=raw_body,
    )
    try:
        reply = (
            deps.connectors.get(conn.type).call(CallContext(tenant_id=conn.tenant_id)).ParseWebhook(request)
        )
    except grpc.RpcError as err:
        failure = failure_of(err)
        if failure.code in _WEBHOOK_REFUSALS:
            # The reason stays in our log; the caller learns only "rejected".
            log.warning(
                "webhook for connection %s rejected: %s",
                conn.id,
                failure.message[:300],
                extra={"tenant": conn.tenant_id},
            )
            raise webhook_rejected() from None
        raise to_domain_error(failure, channel_label(kind)) from None
    kind_name = mapping.webhook_kind(reply.kind)
    if kind_name == "ping":
        return WebhookReceipt(True, reply.delivery_id)
    delivery_id = reply.delivery_id or "sha256:" + hashlib.sha256(raw_body).hexdigest()
    row_id = str(uuid.uuid4())
    now = deps.clock()
    committed: list[str] = []

    def work(repo: Repository) -> bool:
        committed.clear()
        inserted = repo.insert_webhook_delivery(
            delivery_row_id=row_id,
            tenant_id=conn.tenant_id,
            connection_id=conn.id,
            channel_type=conn.type,
            delivery_id=delivery_id[:255],
            topic=reply.topic[:255],
            kind=kind_name,
            headers=lowered,
            raw_body=raw_body,
            now=now,
        )
        if not inserted:
            return False
        repo.add_event(
            conn.tenant_id,
            WEBHOOK_RECEIVED_EVENT,
            {
                "delivery_row_id": row_id,
                "connection_id": conn.id,
                "channel_type": conn.type,
                "delivery_id": delivery_id,
                "topic": reply.topic,
                "kind": kind_name,
            },
        )
        if kind_name == "order":
            # In-flight protection (sync/in_flight.py): the sold units count from now on.
            committed.extend(in_flight.store_commitments(repo, conn.tenant_id, conn.id, reply.orders, now))
            order_intake.record_orders(repo, conn.tenant_id, conn.id, reply.orders, via="webhook", now=now)
        if kind_name == "app_uninstalled":
            current = repo.get_connection(conn.tenant_id, conn.id, lock=True)
            if current is not None:
                reason = (
                    f"the OmniStock app was uninstalled from this {channel_label(kind)} store; reconnect it"
                )
                repo.change_health(
                    current.connection, domain.disconnected(current.connection.health, now, reason), now
                )
        return True

    accepted = deps.uow.run(work)
    if committed:
        # The other channels must drop the sold units at once, not at their next change. The
        # webhook is stored either way: a failure here only delays that until the next flush.
        try:
            store.requeue_skus(deps.redis, deps.uow, conn.tenant_id, committed, exclude_connection_id=conn.id)  # type: ignore[arg-type]
        except Exception:
            log.exception("could not re-queue SKUs sold on connection %s", conn.id)
    return WebhookReceipt(accepted, delivery_id)


def challenge_refused() -> PermissionDenied:
    """The one answer to every failed endpoint check (unknown connection, wrong verify token, a
    channel without checks), so it tells nobody which connection ids exist."""
    return PermissionDenied("webhook endpoint check refused", reason="WEBHOOK_CHALLENGE_REFUSED")


def answer_webhook_challenge(
    deps: ChannelsDeps, channel_type: str, connection_id: str, query: Mapping[str, str], endpoint_url: str
) -> ChallengeAnswer:
    """A channel checks the endpoint before it sends events there (Meta's `hub.challenge` GET):
    the connection's connector knows the expected answer. Nothing is stored or changed. An unknown
    connection of an available type is still put to its connector, with no credentials, so the
    answer's shape does not tell which ids exist."""
    channel = CHANNEL_TYPES.get(channel_type)
    if channel is None or not channel.available:
        raise challenge_refused()
    with deps.uow.transaction() as repo:
        stored = repo.get_connection_by_id_any_tenant(connection_id)
    known = stored is not None and stored.connection.type == channel_type
    if known and stored is not None:
        conn = stored.connection
        context = connection_context(
            connection_id=conn.id,
            tenant_id=conn.tenant_id,
            channel_type=conn.type,
            settings=conn.settings,
            credentials=Credentials(secrets={}),
        )
        tenant = conn.tenant_id
    else:
        context = connection_context(
            connection_id="",
            tenant_id=_NO_TENANT,
            channel_type=channel_type,
            settings={},
            credentials=Credentials(secrets={}),
        )
        tenant = _NO_TENANT
    request = mapping.webhook_challenge_request(context, query, endpoint_url)
    try:
        reply = (
            deps.connectors.get(channel_type)
            .call(CallContext(tenant_id=tenant))
            .AnswerWebhookChallenge(request)
        )
    except grpc.RpcError as err:
        failure = failure_of(err)
        if failure.code in _CHALLENGE_REFUSALS:
            log.info(
                "webhook endpoint check for %s/%s refused: %s",
                channel_type,
                connection_id,
                failure.message[:300],
            )
            raise challenge_refused() from None
        raise to_domain_error(failure, channel_label(channel)) from None
    if not known:
        raise challenge_refused()
    return ChallengeAnswer(reply.content_type or "text/plain", bytes(reply.body))


def _refuse_unknown_webhook(
    deps: ChannelsDeps, channel_type: str, headers: Mapping[str, str], raw_body: bytes
) -> WebhookReceipt:
    """No such connection of this type: verify against a throw-away connection anyway, so the
    answer and its timing match a bad signature on a real one. The unsigned WooCommerce ping
    is acknowledged here too (it changes nothing), or it would tell which ids exist."""
    channel = CHANNEL_TYPES.get(channel_type)
    if channel is None or not channel.available:
        raise webhook_rejected()
    request = mapping.parse_webhook_request(
        connection_context(
            connection_id="",
            tenant_id=_NO_TENANT,
            channel_type=channel_type,
            settings={},
            credentials=Credentials(secrets={"webhook_secret": _DUMMY_WEBHOOK_SECRET}),
        ),
        headers=headers,
        raw_body=raw_body,
    )
    try:
        reply = (
            deps.connectors.get(channel_type).call(CallContext(tenant_id=_NO_TENANT)).ParseWebhook(request)
        )
    except grpc.RpcError as err:
        failure = failure_of(err)
        if failure.code in _WEBHOOK_REFUSALS:
            raise webhook_rejected() from None
        raise to_domain_error(failure, channel_label(channel)) from None
    if mapping.webhook_kind(reply.kind) == "ping":
        return WebhookReceipt(True, reply.delivery_id)
    # Nothing a connector accepts for a connection with no shop/store and a random secret.
    log.error("%s connector accepted a webhook for no connection", channel_type)
    raise webhook_rejected()
