"""Live updates: a one-time ticket, then a server-sent-events stream of the tenant's notices
(gateway.live; docs/decisions/0012-live-updates.md).

    POST /api/v1/events/ticket        (bearer token) -> {"ticket": "...", "expires_in": 30}
    GET  /api/v1/events?ticket=...    text/event-stream: `event: inventory|channels|alerts`,
                                      `data: {"topic": ..., "skus": [...]}`; `event: bye` at the end
"""

from __future__ import annotations

import logging

from flask import Response, request
from pydantic import Field

from gateway.api import ApiModule, current_claims, deps
from gateway.domain import Permission
from gateway.errors import ApiProblem
from gateway.live import MAX_TICKET_CHARS, LiveHub, TicketHolder, event_stream, peer_closed
from gateway.schemas import OutModel, StrictModel
from omnistock_common.logging import tenant_id_var

log = logging.getLogger(__name__)

api = ApiModule("live", tag="Live updates")

# What a refused stream (every slot of this process taken) tells the client to wait.
RETRY_AFTER_SECONDS = 30


class TicketOut(OutModel):
    ticket: str = Field(description="opens one stream: GET /events?ticket=...; single use")
    expires_in: int = Field(description="seconds the ticket stays valid if unused")


class EventsQuery(StrictModel):
    ticket: str = Field(min_length=1, max_length=MAX_TICKET_CHARS)


def _hub() -> LiveHub:
    hub = deps().live
    if hub is None:
        raise ApiProblem(503, "live updates are not available on this server")
    return hub


@api.route(
    "POST",
    "/events/ticket",
    summary="Get a ticket for the live updates stream",
    permission=Permission.AUTHENTICATED,
    response=TicketOut,
    status=201,
    problems=(503,),
)
def create_ticket() -> TicketOut:
    """A browser's EventSource cannot send the bearer token, and the token must never be put in a
    URL: this short-lived ticket stands in for it, for one GET /events."""
    hub = _hub()
    claims = current_claims()
    ticket = hub.tickets.issue(TicketHolder(claims.tenant_id, claims.user_id))
    return TicketOut(ticket=ticket, expires_in=hub.tickets.ttl_seconds)


@api.route(
    "GET",
    "/events",
    summary="Live updates (server-sent events)",
    permission=None,
    query=EventsQuery,
    response_content={"text/event-stream": {"schema": {"type": "string"}}},
    problems=(401, 503),
)
def stream_events(query: EventsQuery) -> Response:
    """The tenant's change notices as they happen: `event: inventory` (with the SKUs), `channels`
    or `alerts`, then re-read what is shown. A comment line every ~15 s; `event: bye` after a few
    minutes, then ask for a new ticket. Authenticated by the ticket (single use, ~30 s). 503 with
    Retry-After when this server has no stream slot free: poll instead."""
    hub = _hub()
    release = hub.slots.acquire()
    if release is None:
        raise ApiProblem(
            503,
            "too many live streams on this server; poll for changes and try again later",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    try:
        holder = hub.tickets.redeem(query.ticket)
        if holder is None:
            raise ApiProblem(401, "the ticket is unknown, used or expired: ask for a new one")
        tenant_id_var.set(holder.tenant_id)
        pubsub = hub.subscribe(holder.tenant_id)
    except BaseException:
        release()
        raise

    def close() -> None:
        try:
            pubsub.close()
        finally:
            release()

    # gunicorn puts the client's socket in the environ: a closed tab frees its slot within a second.
    client_gone = peer_closed(request.environ.get("gunicorn.socket"))
    response = Response(event_stream(pubsub, hub.timing(), client_gone), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    # nginx and similar proxies would buffer the stream and deliver it in lumps.
    response.headers["X-Accel-Buffering"] = "no"
    # Called when the server is done with the response: the end, a gone client, or an error.
    response.call_on_close(close)
    return response
