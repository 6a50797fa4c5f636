"""Channel types and connections: connect with API keys or OAuth, list, get, delete, request a
sync, and the tenant's sync-failure webhook."""

from __future__ import annotations

import secrets

from flask import request

from gateway import channels_schemas as s
from gateway.api import Reply, RouteGroup
from gateway.domain import Permission
from gateway.mapping import channels as m
from gateway.routes.channels.client import channels, client, public_context
from gateway.routes.channels.oauth import OAUTH_COOKIE, oauth_cookie, session_binding
from omnistock.channels.v1 import channels_service_pb2 as pb

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
)
def start_oauth(channel_type: str, query: s.OAuthStartQuery) -> Reply:
    """Redirects to the channel's consent page; the body repeats the URL for XHR clients. Sets the
    HttpOnly cookie that binds the callback to this browser: open the consent page in it."""
    nonce = secrets.token_urlsafe(32)
    reply = channels().StartOAuth(m.start_oauth_request(channel_type, query, session_binding(nonce)))
    headers = {"Location": reply.authorization_url, "Set-Cookie": oauth_cookie(nonce)}
    return Reply(body=m.oauth_start_out(reply), status=302, headers=headers)


@routes.route(
    "GET",
    "/channels/oauth/callback",
    summary="Finish connecting an OAuth channel",
    permission=None,
    response=s.ConnectionOut,
    problems=(400, 401, 403, 409, 503),
)
def oauth_callback() -> s.ConnectionOut:
    """Called by the channel's redirect: verifies the state and the channel's HMAC, stores the token
    (on the shop's existing connection, disconnected or not, when the tenant has one).
    403 unless it arrives in the browser that started the flow (the cookie set by oauth/start)."""
    params = {key: request.args.get(key, "") for key in request.args}
    nonce = request.cookies.get(OAUTH_COOKIE, "")
    request_pb = pb.CompleteOAuthRequest(
        callback_params=params, session_binding=session_binding(nonce) if nonce else ""
    )
    reply = client().rpc.call(public_context()).CompleteOAuth(request_pb)
    # The cookie stays until it expires: a reload of this page then hears "already used".
    return m.connection_out(reply.connection)


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
