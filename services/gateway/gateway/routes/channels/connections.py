"""Channel types and connections: connect with API keys or OAuth, list, get, delete, request a
sync, and the tenant's sync-failure webhook."""

from __future__ import annotations

import logging
import secrets

import grpc
from flask import request

from gateway import channels_schemas as s
from gateway.api import AlternativeResponse, Reply, RouteGroup, deps
from gateway.domain import Permission
from gateway.errors import ApiProblem
from gateway.mapping import channels as m
from gateway.routes.channels.client import channels, client, public_context
from gateway.routes.channels.oauth import (
    OAUTH_COOKIE,
    back_to_dashboard,
    browser_navigation,
    failure_slug,
    oauth_cookie,
    session_binding,
    wants_json_only,
)
from omnistock.channels.v1 import channels_service_pb2 as pb

log = logging.getLogger(__name__)
routes = RouteGroup()


@routes.route(
    "GET",
    "/channel-types",
    summary="List channel types",
    permission=Permission.CHANNELS_READ,
    response=s.ChannelTypeList,
)
def list_channel_types() -> s.ChannelTypeList:
    """Every channel OmniStock knows, with its auth kind and capabilities."""
    return m.channel_types_out(channels().ListChannelTypes(pb.ListChannelTypesRequest()))


@routes.route(
    "POST",
    "/channels",
    summary="Connect an API-key channel",
    permission=Permission.CHANNELS_MANAGE,
    body=s.ConnectionIn,
    response=s.ConnectionOut,
    status=201,
    problems=(409, 503),
)
def create_connection(body: s.ConnectionIn) -> s.ConnectionOut:
    """The keys are tested against the channel first; wrong keys are a 400 and nothing is stored.
    A store already connected is re-authorised in place: the same connection, its mappings kept."""
    reply = channels().CreateConnection(m.create_connection_request(body))
    return m.connection_out(reply.connection)


@routes.route(
    "GET",
    "/channels/<channel_type>/oauth/start",
    summary="Start connecting an OAuth channel",
    permission=Permission.CHANNELS_MANAGE,
    query=s.OAuthStartQuery,
    response=s.OAuthStartOut,
    status=302,
    problems=(409, 503),
    response_headers={"Location": "the channel's consent page (carries a signed, expiring state)"},
    alternatives={
        200: AlternativeResponse(
            "when Accept names application/json and not text/html (a fetch cannot read a "
            "redirect's body): the same body and cookie, no Location; navigate to authorization_url"
        )
    },
)
def start_oauth(channel_type: str, query: s.OAuthStartQuery) -> Reply:
    """Redirects to the channel's consent page; the body repeats the URL. A script asking for JSON
    only (Accept: application/json) gets it with 200 and no redirect. Sets the HttpOnly cookie
    that binds the callback to this browser: open the consent page in it."""
    nonce = secrets.token_urlsafe(32)
    reply = channels().StartOAuth(m.start_oauth_request(channel_type, query, session_binding(nonce)))
    cookie = {"Set-Cookie": oauth_cookie(nonce)}
    if wants_json_only():
        return Reply(body=m.oauth_start_out(reply), status=200, headers=cookie)
    headers = {"Location": reply.authorization_url, **cookie}
    return Reply(body=m.oauth_start_out(reply), status=302, headers=headers)


@routes.route(
    "GET",
    "/channels/oauth/callback",
    summary="Finish connecting an OAuth channel",
    permission=None,
    response=s.ConnectionOut,
    problems=(400, 401, 403, 409, 503),
    alternatives={
        303: AlternativeResponse(
            "a browser's navigation (Accept names text/html), whatever the outcome: back to the "
            "dashboard, /channels?connected=<connection id> or /channels?connect_error=<slug> (the "
            "problem's reason in lower-kebab, e.g. oauth-state-reused, else its type slug)",
            body=False,
            headers={"Location": "/channels?connected=... or /channels?connect_error=..."},
        )
    },
)
def oauth_callback() -> s.ConnectionOut | Reply:
    """Called by the channel's redirect: verifies the state and the channel's HMAC, stores the token
    (on the shop's existing connection, disconnected or not, when the tenant has one).
    403 unless it arrives in the browser that started the flow (the cookie set by oauth/start).
    A browser is sent back to the dashboard (303) with the outcome instead of JSON."""
    params = {key: request.args.get(key, "") for key in request.args}
    nonce = request.cookies.get(OAUTH_COOKIE, "")
    request_pb = pb.CompleteOAuthRequest(
        callback_params=params, session_binding=session_binding(nonce) if nonce else ""
    )
    if not browser_navigation():
        reply = client().rpc.call(public_context()).CompleteOAuth(request_pb)
        # The cookie stays until it expires: a reload of this page then hears "already used".
        return m.connection_out(reply.connection)
    try:
        reply = client().rpc.call(public_context()).CompleteOAuth(request_pb)
    except grpc.RpcError as err:
        problem = deps().errors.from_rpc_error(err, had_if_match=False)
        if problem.status >= 500:
            log.warning("OAuth callback failed", extra={"http_status": problem.status})
        return back_to_dashboard(connect_error=failure_slug(problem))
    except ApiProblem as problem:
        return back_to_dashboard(connect_error=failure_slug(problem))
    return back_to_dashboard(connected=reply.connection.id)


@routes.route(
    "GET",
    "/channels",
    summary="List connections",
    permission=Permission.CHANNELS_READ,
    response=s.ConnectionList,
    conditional=True,
)
def list_connections() -> s.ConnectionList:
    reply = channels().ListConnections(pb.ListConnectionsRequest())
    return s.ConnectionList(items=[m.connection_out(c) for c in reply.connections])


@routes.route(
    "PUT",
    "/channels/notification-settings",
    summary="Set the sync-failure webhook",
    permission=Permission.CHANNELS_MANAGE,
    body=s.NotificationsIn,
    response=s.NotificationsOut,
)
def set_notifications(body: s.NotificationsIn) -> s.NotificationsOut:
    """Where sync failures are POSTed (best effort, in addition to the service log)."""
    request_pb = pb.SetNotificationSettingsRequest(webhook_url=body.webhook_url)
    return s.NotificationsOut(webhook_url=channels().SetNotificationSettings(request_pb).webhook_url)


@routes.route(
    "GET",
    "/channels/<connection_id>",
    summary="Get a connection",
    permission=Permission.CHANNELS_READ,
    response=s.ConnectionOut,
)
def get_connection(connection_id: str) -> s.ConnectionOut:
    reply = channels().GetConnection(pb.GetConnectionRequest(connection_id=connection_id))
    return m.connection_out(reply.connection)


@routes.route(
    "PATCH",
    "/channels/<connection_id>",
    summary="Change a connection's settings",
    permission=Permission.CHANNELS_MANAGE,
    body=s.ConnectionSettingsIn,
    response=s.ConnectionOut,
)
def update_connection_settings(connection_id: str, body: s.ConnectionSettingsIn) -> s.ConnectionOut:
    """Only the type's editable_settings (GET /channel-types): what publishing or fulfilment needs
    that the channel does not tell, never what names the store. A bad key or value is a 400 that
    names it and changes nothing; the next sync, publish or fulfilment uses the new values."""
    reply = channels().UpdateConnectionSettings(m.settings_request(connection_id, body))
    return m.connection_out(reply.connection)


@routes.route(
    "DELETE",
    "/channels/<connection_id>",
    summary="Disconnect and delete a connection",
    permission=Permission.CHANNELS_MANAGE,
    status=204,
)
def delete_connection(connection_id: str) -> Reply:
    channels().DeleteConnection(pb.DeleteConnectionRequest(connection_id=connection_id))
    return Reply(status=204)


@routes.route(
    "POST",
    "/channels/<connection_id>/sync",
    summary="Request a sync",
    permission=Permission.CHANNELS_WRITE,
    body=s.SyncIn,
    response=s.JobOut,
    status=202,
)
def request_sync(connection_id: str, body: s.SyncIn) -> s.JobOut:
    """Queued for the sync engine; `GET /jobs/{job_id}` follows it."""
    return s.JobOut(job_id=channels().RequestSync(m.sync_request(connection_id, body)).job_id)
