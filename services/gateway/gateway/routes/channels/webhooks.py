"""The public webhook receiver: a channel (not a user) POSTs here, so there is no JWT.

The RAW body bytes and the headers go to the channels service untouched, so the channel's HMAC
can be verified there; size and rate are checked here first, before the body is read.
"""

from __future__ import annotations

import hashlib

import grpc
from flask import Response, request

from gateway import channels_schemas as s
from gateway.api import API_PREFIX, RouteGroup, deps
from gateway.deps import Deps
from gateway.errors import ApiProblem
from gateway.routes.channels.client import client, public_context
from omnistock.channels.v1 import channels_service_pb2 as pb

routes = RouteGroup()

# Never stored with a webhook delivery: they are the caller's, not the channel's.
_DROPPED_WEBHOOK_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
_WEBHOOK_READ_CHUNK = 64 * 1024
# The channels service refuses every bad delivery with UNAUTHENTICATED; NOT_FOUND is mapped the same
# way in case an older channels service still answers it for unknown connection ids.
_WEBHOOK_REFUSED = (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.NOT_FOUND)


def _webhook_rejected() -> ApiProblem:
    """The one answer to an unknown connection, a bad signature, another shop, a stale delivery...:
    the same status and body, so the endpoint tells nobody which connection ids exist."""
    return ApiProblem(401, "the webhook was rejected")


def _too_large(limit: int) -> ApiProblem:
    return ApiProblem(413, f"webhook bodies are limited to {limit} bytes")


def _webhook_body(limit: int) -> bytes:
    """The raw body, never reading more than `limit` + 1 bytes: a declared Content-Length over the
    limit is refused unread, and a chunked body is read piece by piece until it passes the limit."""
    length = request.content_length
    if length is not None and length > limit:
        raise _too_large(limit)
    stream = request.stream
    chunks: list[bytes] = []
    total = 0
    while chunk := stream.read(min(_WEBHOOK_READ_CHUNK, limit + 1 - total)):
        total += len(chunk)
        if total > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _limit_webhooks(deps: Deps, connection_id: str) -> None:
    """Per connection id, before any backend call; unknown ids count alike (no existence oracle)."""
    if deps.webhook_limiter is None:
        return
    settings = deps.settings
    key = "webhook:" + hashlib.sha256(connection_id.encode()).hexdigest()[:32]
    retry = deps.webhook_limiter.attempt(
        key, settings.webhook_rate_limit, settings.webhook_rate_window_seconds
    )
    if retry:
        raise ApiProblem(
            429, "too many webhook deliveries for this connection", headers={"Retry-After": str(retry)}
        )


@routes.route(
    "POST",
    "/webhooks/<channel_type>/<connection_id>",
    summary="Receive a channel webhook",
    permission=None,
    response=s.WebhookAckOut,
    problems=(401, 413, 429, 503),
    request_content={
        "application/json": {"schema": {"description": "the channel's payload, verified on the raw bytes"}},
        "application/x-www-form-urlencoded": {
            "schema": {"description": "WooCommerce's unsigned creation ping"}
        },
    },
)
def receive_webhook(channel_type: str, connection_id: str) -> s.WebhookAckOut:
    """Size and rate checked before the body is read; signature, shop/store, topic, payload shape
    and age checked by the channels service and the connector; a repeated delivery is 200 too."""
    current = deps()
    if (
        request.content_length is not None
        and request.content_length > current.settings.webhook_max_body_bytes
    ):
        raise _too_large(current.settings.webhook_max_body_bytes)
    _limit_webhooks(current, connection_id)
    raw_body = _webhook_body(current.settings.webhook_max_body_bytes)
    headers = {k.lower(): v for k, v in request.headers.items() if k.lower() not in _DROPPED_WEBHOOK_HEADERS}
    request_pb = pb.IngestWebhookRequest(
        channel_type=channel_type, connection_id=connection_id, headers=headers, raw_body=raw_body
    )
    try:
        reply = client().webhooks.call(public_context()).IngestWebhook(request_pb)
    except grpc.RpcError as err:
        if isinstance(err, grpc.Call) and err.code() in _WEBHOOK_REFUSED:
            raise _webhook_rejected() from None
        raise
    return s.WebhookAckOut(accepted=reply.accepted, delivery_id=reply.delivery_id)


# The GET a channel sends before it subscribes this endpoint; the answer is the channel's own text.
_CHALLENGE_REFUSED = (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.NOT_FOUND)
_MAX_CHALLENGE_PARAMS = 20


@routes.route(
    "GET",
    "/webhooks/<channel_type>/<connection_id>",
    summary="Answer a channel's check of this webhook endpoint",
    permission=None,
    problems=(403, 429, 503),
    response_content={
        "text/plain": {"schema": {"type": "string", "description": "Meta: the hub.challenge it sent"}},
        "application/json": {"schema": {"type": "object", "description": "a channel that expects JSON"}},
    },
)
def answer_webhook_challenge(channel_type: str, connection_id: str) -> Response:
    """Meta calls the callback URL with `hub.mode=subscribe`, `hub.verify_token` and
    `hub.challenge` before it sends events, and expects the challenge back (CHANNELS.md 3.4);
    the connection's connector checks the verify token. Every refusal is the same 403."""
    current = deps()
    _limit_webhooks(current, connection_id)
    if len(request.args) > _MAX_CHALLENGE_PARAMS:
        raise ApiProblem(403, "the webhook endpoint check was refused")
    query = {key: request.args.get(key, "")[:1000] for key in request.args}
    endpoint = (
        f"{current.settings.public_base_url.rstrip('/')}{API_PREFIX}/webhooks/{channel_type}/{connection_id}"
    )
    request_pb = pb.AnswerWebhookChallengeRequest(
        channel_type=channel_type, connection_id=connection_id, query=query, endpoint_url=endpoint
    )
    try:
        reply = client().webhooks.call(public_context()).AnswerWebhookChallenge(request_pb)
    except grpc.RpcError as err:
        if isinstance(err, grpc.Call) and err.code() in _CHALLENGE_REFUSED:
            raise ApiProblem(403, "the webhook endpoint check was refused") from None
        raise
    content_type = (
        reply.content_type if reply.content_type in ("text/plain", "application/json") else "text/plain"
    )
    return Response(bytes(reply.body), content_type=content_type, headers={"Cache-Control": "no-store"})
