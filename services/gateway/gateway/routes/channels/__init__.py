"""Channels REST endpoints (API.md "Channels") ↔ the channels gRPC service.

One area in four files, mounted in this order (the order of the OpenAPI document): channel types,
connections (API keys, OAuth start/callback), sync requests and notification settings; listings,
auto-mapping, the catalog import, jobs and the sync log; publishing products (the publish job,
published products, owned fields); the public webhook receiver. Views call one RPC each with messages
built by gateway.mapping.channels; every rule lives in the channels service.

Two endpoints take no JWT because a channel, not a user, calls them: the OAuth callback (the
signed `state` identifies tenant and flow) and `POST /webhooks/{type}/{connection_id}`, which
passes the RAW body bytes and headers on untouched so the channel's HMAC can be verified.
"""

from __future__ import annotations

from gateway.api import ApiModule
from gateway.routes.channels import connections, listings, publishing, webhooks
from gateway.routes.channels.oauth import OAUTH_CALLBACK_PATH, OAUTH_COOKIE

__all__ = ["OAUTH_CALLBACK_PATH", "OAUTH_COOKIE", "api"]

api = ApiModule("channels", tag="Channels").include(
    connections.routes, listings.routes, publishing.routes, webhooks.routes
)
