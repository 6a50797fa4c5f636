"""New connections: API keys (validated with a real call before anything is stored) and OAuth
(a signed, expiring, session-bound state; ExchangeCode on the callback). Connecting a store the
tenant has already connected re-authorises that connection in place (reconnect.py). ValidateCredentials
and ExchangeCode happen before the connection exists, so they cannot go through
ConnectionCaller.with_connection.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import urlparse

import grpc

from channels import domain, mapping, oauth_state
from channels.connector_clients import (
    connection_context,
    credentials_from_pb,
    failure_of,
    signature_rejected,
    to_domain_error,
)
from channels.deps import (
    ChannelsDeps,
    channel_label,
)
from channels.domain import (
    AuthKind,
    ChannelType,
    Connection,
    ConnectionStatus,
    Credentials,
    Health,
    InvalidState,
)
from channels.reconnect import find_connected_store, reauthorise
from channels.repository import Repository
from omnistock_common.context import CallContext
from omnistock_common.egress import safe_text
from omnistock_common.errors import FieldViolation, InvalidArgument

log = logging.getLogger(__name__)

OAUTH_STATE_KEY_PREFIX = "omnistock:oauth-state:"


# ------------------------------------------------------------------ API-key connections
def create_connection(
    deps: ChannelsDeps,
    ctx: CallContext,
    channel_type: str,
    name: str,
    settings: Mapping[str, str],
    credentials: Mapping[str, str],
) -> Connection:
    """Validate the keys with a real call first; nothing is stored unless the channel agrees."""
    kind = domain.channel_type(channel_type, auth=AuthKind.API_KEY)
    clean_settings = domain.validate_settings(settings)
    creds = Credentials(secrets=domain.validate_credentials_input(kind, credentials))
    connection_id = str(uuid.uuid4())
    request = mapping.validate_credentials_request(
        connection_context(
            connection_id=connection_id,
            tenant_id=ctx.tenant_id,
            channel_type=kind.type,
            settings=clean_settings,
            credentials=creds,
        )
    )
    try:
        reply = deps.connectors.get(kind.type).call(ctx).ValidateCredentials(request)
    except grpc.RpcError as err:
        failure = failure_of(err)
        if failure.code is grpc.StatusCode.UNAUTHENTICATED:
            raise InvalidArgument(
                f"{channel_label(kind)} rejected these credentials ({safe_text(failure.message)}); "
                "nothing was saved",
                reason="CREDENTIALS_REJECTED",
                violations=[FieldViolation("credentials", "the channel refused them")],
            ) from None
        if failure.code is grpc.StatusCode.NOT_FOUND:
            # A 404 here is the store's URL, not a missing OmniStock resource.
            raise InvalidArgument(
                f"{channel_label(kind)}: {safe_text(failure.message)}; check the store URL; nothing was saved",
                reason="CHANNEL_URL_NOT_FOUND",
                violations=[FieldViolation("settings.store_url", "no store API answers there")],
            ) from None
        raise to_domain_error(failure, channel_label(kind)) from None
    learnt = domain.remote_settings(reply.settings, exclude=clean_settings)
    final_name = domain.validate_name(
        name or safe_text(reply.account_name, domain.MAX_NAME) or kind.display_name
    )
    return _store(
        deps,
        ctx.tenant_id,
        connection_id,
        kind,
        final_name,
        {**clean_settings, **learnt},
        creds,
        "validate_credentials",
        rename=bool(name),
    )


# ------------------------------------------------------------------ OAuth connections
def start_oauth(
    deps: ChannelsDeps,
    ctx: CallContext,
    channel_type: str,
    name: str,
    settings: Mapping[str, str],
    redirect_uri: str,
    session_binding: str = "",
) -> tuple[str, datetime]:
    """The consent URL with a signed, expiring state bound to tenant, user, type, settings and
    the caller's browser session (`session_binding`, required)."""
    kind = domain.channel_type(channel_type, auth=AuthKind.OAUTH)
    binding = oauth_state.validate_session_binding(session_binding)
    clean_settings = domain.validate_settings(settings)
    final_name = domain.validate_name(name or kind.display_name)
    redirect = redirect_uri or deps.oauth.default_redirect_uri
    if urlparse(redirect).scheme not in ("http", "https"):
        raise InvalidArgument(
            "invalid redirect_uri", violations=[FieldViolation("redirect_uri", "must be an http(s) URL")]
        )
    token, state = oauth_state.sign_state(
        deps.oauth.state_secret,
        tenant_id=ctx.tenant_id,
        user_id=ctx.user_id,
        channel_type=kind.type,
        name=final_name,
        settings=clean_settings,
        redirect_uri=redirect,
        now=deps.clock(),
        ttl=deps.oauth.state_ttl,
        binding=binding,
    )
    request = mapping.authorization_url_request(
        connection_context(
            connection_id="",
            tenant_id=ctx.tenant_id,
            channel_type=kind.type,
            settings=clean_settings,
            credentials=None,
        ),
        state=token,
        redirect_uri=redirect,
    )
    try:
        reply = deps.connectors.get(kind.type).call(ctx).BuildAuthorizationUrl(request)
    except grpc.RpcError as err:
        raise to_domain_error(failure_of(err), channel_label(kind)) from None
    return reply.authorization_url, state.expires_at


def complete_oauth(
    deps: ChannelsDeps, callback_params: Mapping[str, str], redirect_uri: str, session_binding: str = ""
) -> Connection:
    """Tenantless: the tenant comes from the signed state, which is usable exactly once, and
    only in the browser session that started the flow (checked before the state is spent)."""
    token = callback_params.get("state", "")
    if not token:
        raise InvalidState("the OAuth callback has no state", reason="OAUTH_STATE_INVALID")
    state = oauth_state.verify_state(deps.oauth.state_secret, token, deps.clock())
    oauth_state.check_session_binding(state, session_binding)
    kind = domain.channel_type(state.channel_type, auth=AuthKind.OAUTH)
    ttl = int(deps.oauth.state_ttl.total_seconds()) + 60
    if not deps.redis.set(OAUTH_STATE_KEY_PREFIX + state.nonce, "1", nx=True, ex=ttl):
        raise InvalidState(
            "this OAuth state was already used: start the connection again", reason="OAUTH_STATE_REUSED"
        )
    ctx = CallContext(tenant_id=state.tenant_id, user_id=state.user_id)
    connection_id = str(uuid.uuid4())
    request = mapping.exchange_code_request(
        connection_context(
            connection_id=connection_id,
            tenant_id=state.tenant_id,
            channel_type=kind.type,
            settings=state.settings,
            credentials=None,
        ),
        callback_params=dict(callback_params),
        redirect_uri=redirect_uri or state.redirect_uri,
    )
    try:
        reply = deps.connectors.get(kind.type).call(ctx).ExchangeCode(request)
    except grpc.RpcError as err:
        failure = failure_of(err)
        if failure.code is grpc.StatusCode.UNAUTHENTICATED:
            raise signature_rejected(failure, channel_label(kind)) from None
        raise to_domain_error(failure, channel_label(kind)) from None
    creds = credentials_from_pb(reply.credentials)
    settings = {**state.settings, **domain.remote_settings(reply.settings, exclude=state.settings)}
    return _store(
        deps, state.tenant_id, connection_id, kind, state.name, settings, creds, "exchange_code", rename=False
    )


def _store(
    deps: ChannelsDeps,
    tenant_id: str,
    connection_id: str,
    kind: ChannelType,
    name: str,
    settings: Mapping[str, str],
    creds: Credentials,
    operation: str,
    *,
    rename: bool,
) -> Connection:
    """A new connection, or the tenant's connection to the same store re-authorised in place
    (reconnect.py; `rename`: whether `name` was asked for or is only a default)."""
    now = deps.clock()
    connection = Connection(
        id=connection_id,
        tenant_id=tenant_id,
        type=kind.type,
        name=name,
        settings=dict(settings),
        health=Health(ConnectionStatus.CONNECTED, "", now, now, 0, ""),
        token_expires_at=creds.access_token_expires_at,
        credentials_version=1,
        created_at=now,
        updated_at=now,
    )

    def encrypt(for_connection: str) -> bytes:
        return deps.keyring.encrypt(creds.to_bytes(), tenant_id=tenant_id, connection_id=for_connection)

    def work(repo: Repository) -> tuple[Connection, bool]:
        existing = find_connected_store(repo, tenant_id, kind.type, settings)
        updated = (
            reauthorise(
                repo,
                existing,
                name=name if rename else "",
                settings=settings,
                creds=creds,
                encrypt=encrypt,
                now=now,
            )
            if existing is not None
            else None
        )
        stored = updated or connection
        if updated is None:
            repo.insert_connection(connection, encrypt(connection_id))
        repo.add_sync_log(
            tenant_id,
            stored.id,
            at=now,
            operation=operation,
            skus=(),
            outcome="ok",
            message="reconnected" if updated else "connected",
            latency_ms=0,
            calls=1,
        )
        repo.add_event(
            tenant_id,
            "channels.connection_reauthorised" if updated else "channels.connection_created",
            {"connection_id": stored.id, "channel_type": kind.type},
        )
        return stored, updated is not None

    stored, again = deps.uow.run(work)
    log.info(
        "%s %s connection %s",
        "re-authorised" if again else "connected",
        kind.type,
        stored.id,
        extra={"tenant": tenant_id},
    )
    return stored
