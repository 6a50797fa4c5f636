"""gRPC adapter of the Shopify connector: request → ShopifyClient operation → response.

Each RPC builds a short-lived ChannelHttpClient from the call's ConnectionContext (the connector
keeps no state; the rate-limit bucket lives in Redis keyed by connection). Errors are
omnistock_common DomainErrors; the server interceptor maps them to statuses.
`refreshed_credentials` stays unset: refreshing is RefreshCredentials' job only (see
omnistock_connector_kit.connector_base for the refresh design).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC
from typing import TypeVar

import grpc
import httpx

from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock.connector.v1 import connector_service_pb2_grpc
from omnistock_common.errors import DomainError, InvalidArgument, Unauthenticated
from omnistock_connector_kit.channel_http import ChannelHttpError, RateLimiter, RetryPolicy
from omnistock_connector_kit.connector_base import (
    CREDENTIALS_REVOKED,
    api_base_url,
    build_http_client,
    credentials_from_dict,
    expires_after,
    require_secret,
    translate_channel_errors,
)
from shopify_connector import protocol as p
from shopify_connector.client import (
    ACCESS_TOKEN_HEADER,
    ShopifyClient,
    reported_bucket_level,
    throttle_delay,
)
from shopify_connector.config import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")

OAUTH_CALLBACK_INVALID = "OAUTH_CALLBACK_INVALID"
WEBHOOK_SIGNATURE_INVALID = "WEBHOOK_SIGNATURE_INVALID"


class ShopifyConnectorServicer(connector_service_pb2_grpc.ConnectorServiceServicer):
    def __init__(
        self,
        settings: Settings,
        limiter: RateLimiter,
        *,
        transport_factory: Callable[[], httpx.BaseTransport] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self._settings = settings
        self._limiter = limiter
        self._transport_factory = transport_factory
        self._sleep = sleep

    # -- plumbing ------------------------------------------------------------------------------

    @contextmanager
    def _shopify(
        self, connection: pb.ConnectionContext, *, token: str | None = None
    ) -> Iterator[ShopifyClient]:
        """A ShopifyClient for this call; `token` overrides the connection's access token
        (ExchangeCode uses the fresh one), "" means no token (OAuth endpoints)."""
        access_token = require_secret(connection, "access_token") if token is None else token
        http = build_http_client(
            connection,
            limiter=self._limiter,
            retry=RetryPolicy(max_attempts=self._settings.max_attempts),
            timeout=self._settings.http_timeout_seconds,
            headers={ACCESS_TOKEN_HEADER: access_token} if access_token else None,
            transport=self._transport_factory() if self._transport_factory else None,
            sleep=self._sleep,
            throttle_delay=throttle_delay,
            max_wait=self._settings.max_bucket_wait_seconds,
            bucket_observer=reported_bucket_level,
        )
        refreshable = bool(connection.credentials.secrets.get("refresh_token"))
        try:
            with translate_channel_errors():
                yield ShopifyClient(http, refreshable=refreshable)
        finally:
            http.close()

    def _run(
        self, connection: pb.ConnectionContext, operation: Callable[[ShopifyClient], T]
    ) -> tuple[T, int]:
        """Run `operation` with a token-bearing client; return its result and the HTTP calls made."""
        with self._shopify(connection) as shopify:
            result = operation(shopify)
            return result, len(shopify.http.calls)

    # -- RPCs ----------------------------------------------------------------------------------

    def Describe(self, request: pb.DescribeRequest, context: grpc.ServicerContext) -> pb.DescribeResponse:
        return pb.DescribeResponse(
            channel_type="shopify",
            auth_kind=pb.AUTH_KIND_OAUTH,
            capabilities=[
                pb.CAPABILITY_INVENTORY,
                pb.CAPABILITY_PRICES,
                pb.CAPABILITY_ORDERS,
                pb.CAPABILITY_FULFILLMENT,
                pb.CAPABILITY_WEBHOOKS,
                pb.CAPABILITY_CATALOG,
            ],
            max_inventory_batch=p.MAX_INVENTORY_BATCH,
            max_price_batch=p.MAX_PRICE_BATCH,
            api_version=p.API_VERSION,
        )

    def BuildAuthorizationUrl(
        self, request: pb.BuildAuthorizationUrlRequest, context: grpc.ServicerContext
    ) -> pb.BuildAuthorizationUrlResponse:
        if not request.state or not request.redirect_uri:
            raise InvalidArgument("state and redirect_uri are required")
        base = api_base_url(request.connection)
        scopes = request.connection.settings.get("scopes") or self._settings.scopes
        return pb.BuildAuthorizationUrlResponse(
            authorization_url=p.authorization_url(
                base,
                client_id=self._settings.client_id,
                scopes=scopes,
                redirect_uri=request.redirect_uri,
                state=request.state,
            )
        )

    def ExchangeCode(
        self, request: pb.ExchangeCodeRequest, context: grpc.ServicerContext
    ) -> pb.ExchangeCodeResponse:
        params = dict(request.callback_params)
        problem = p.callback_problem(
            params,
            self._settings.webhook_secrets,
            expected_shop=request.connection.settings.get("shop_domain", ""),
        )
        if problem:
            raise Unauthenticated(f"OAuth callback refused: {problem}", reason=OAUTH_CALLBACK_INVALID)
        with self._shopify(request.connection, token="") as shopify:
            grant = shopify.exchange_code(
                self._settings.client_id, self._settings.client_secret, params["code"]
            )
        settings = {"shop_domain": params["shop"]}
        # The code is spent: a failure to learn the shop's details must not lose the token.
        try:
            with self._shopify(request.connection, token=grant.access_token) as shopify:
                settings.update(shopify.shop_info().settings())
        except (DomainError, ChannelHttpError) as exc:
            log.warning("shop details after code exchange unavailable: %s", exc)
        return pb.ExchangeCodeResponse(credentials=_credentials(grant), settings=settings)

    def RefreshCredentials(
        self, request: pb.RefreshCredentialsRequest, context: grpc.ServicerContext
    ) -> pb.RefreshCredentialsResponse:
        current = request.connection.credentials
        refresh_token = current.secrets.get("refresh_token", "")
        if not refresh_token:
            raise Unauthenticated(
                "this Shopify token cannot be refreshed (no refresh token); re-authorize the shop",
                reason=CREDENTIALS_REVOKED,
            )
        with self._shopify(request.connection, token="") as shopify:
            grant = shopify.refresh(self._settings.client_id, self._settings.client_secret, refresh_token)
        return pb.RefreshCredentialsResponse(credentials=_credentials(grant, previous=current))

    def ValidateCredentials(
        self, request: pb.ValidateCredentialsRequest, context: grpc.ServicerContext
    ) -> pb.ValidateCredentialsResponse:
        info, _ = self._run(request.connection, lambda shopify: shopify.shop_info())
        return pb.ValidateCredentialsResponse(account_name=info.name, settings=info.settings())

    def PushInventory(
        self, request: pb.PushInventoryRequest, context: grpc.ServicerContext
    ) -> pb.PushInventoryResponse:
        connection = request.connection
        results, calls = self._run(
            connection,
            lambda shopify: shopify.push_inventory(
                request.items,
                default_location=connection.settings.get("location_id", ""),
                reference=f"gid://omnistock/Connection/{connection.connection_id}",
            ),
        )
        return pb.PushInventoryResponse(results=results, calls=calls)

    def PushPrices(
        self, request: pb.PushPricesRequest, context: grpc.ServicerContext
    ) -> pb.PushPricesResponse:
        currency = request.connection.settings.get("currency", "")
        results, calls = self._run(
            request.connection, lambda shopify: shopify.push_prices(request.items, shop_currency=currency)
        )
        return pb.PushPricesResponse(results=results, calls=calls)

    def FetchOrders(
        self, request: pb.FetchOrdersRequest, context: grpc.ServicerContext
    ) -> pb.FetchOrdersResponse:
        search = p.orders_search(request.updated_since if request.HasField("updated_since") else None)
        (orders, next_cursor), _ = self._run(
            request.connection,
            lambda shopify: shopify.fetch_orders(search=search, cursor=request.cursor, limit=request.limit),
        )
        return pb.FetchOrdersResponse(orders=orders, next_cursor=next_cursor)

    def CreateFulfillment(
        self, request: pb.CreateFulfillmentRequest, context: grpc.ServicerContext
    ) -> pb.CreateFulfillmentResponse:
        if not request.external_order_id:
            raise InvalidArgument("external_order_id is required")
        fulfillment_id, _ = self._run(
            request.connection,
            lambda shopify: shopify.create_fulfillment(
                request.external_order_id,
                request.lines,
                carrier=request.carrier,
                tracking_number=request.tracking_number,
                tracking_url=request.tracking_url,
            ),
        )
        return pb.CreateFulfillmentResponse(external_fulfillment_id=fulfillment_id)

    def ParseWebhook(
        self, request: pb.ParseWebhookRequest, context: grpc.ServicerContext
    ) -> pb.ParseWebhookResponse:
        headers = {k.lower(): v for k, v in request.headers.items()}
        raw = bytes(request.raw_body)
        settings = request.connection.settings
        problem = p.webhook_problem(
            headers,
            raw,
            secrets=self._settings.webhook_secrets,
            expected_shop=settings.get("shop_domain", ""),
            topics=p.subscribed_topics(settings.get("webhook_topics", "")),
            max_age_seconds=self._settings.webhook_max_age_seconds,
        )
        if problem:
            # One status for every refusal: the channels service answers them all alike.
            raise Unauthenticated(f"webhook refused: {problem}", reason=WEBHOOK_SIGNATURE_INVALID)
        topic = headers["x-shopify-topic"].strip().lower()
        delivery_id = (
            headers.get("x-shopify-webhook-id", "") or headers.get("x-shopify-event-id", "")
        ).strip()
        kind = p.webhook_kind(topic)
        response = pb.ParseWebhookResponse(delivery_id=delivery_id, topic=topic, kind=kind)
        if kind == pb.WEBHOOK_KIND_ORDER:
            order = p.order_from_rest(json.loads(raw))  # shape checked by webhook_problem
            if topic == "orders/delete":
                order.status = pb.ORDER_STATUS_CANCELLED
                order.raw_status = "deleted"
            response.orders.append(order)
        return response

    def ReadInventory(
        self, request: pb.ReadInventoryRequest, context: grpc.ServicerContext
    ) -> pb.ReadInventoryResponse:
        location = request.connection.settings.get("location_id", "")
        quantities, _ = self._run(
            request.connection,
            lambda shopify: shopify.read_inventory(request.items, default_location=location),
        )
        return pb.ReadInventoryResponse(quantities=quantities)

    def ListRemoteProducts(
        self, request: pb.ListRemoteProductsRequest, context: grpc.ServicerContext
    ) -> pb.ListRemoteProductsResponse:
        connection = request.connection

        def page(shopify: ShopifyClient) -> tuple[list[pb.RemoteProduct], str]:
            location = connection.settings.get("location_id", "") or shopify.shop_info().location_id
            return shopify.list_variants(cursor=request.cursor, limit=request.limit, location_id=location)

        (products, next_cursor), _ = self._run(connection, page)
        return pb.ListRemoteProductsResponse(products=products, next_cursor=next_cursor)


def _credentials(grant: p.TokenGrant, previous: pb.Credentials | None = None) -> pb.Credentials:
    """Credentials from a token grant, with absolute expiry times (CHANNELS.md 0.2). A refresh
    response without a new refresh token keeps the previous one (and its expiry)."""
    secrets = {"access_token": grant.access_token}
    refresh_expires = expires_after(grant.refresh_token_expires_in)
    if grant.refresh_token:
        secrets["refresh_token"] = grant.refresh_token
    elif previous is not None and previous.secrets.get("refresh_token"):
        secrets["refresh_token"] = previous.secrets["refresh_token"]
        if previous.HasField("refresh_token_expires_at"):
            refresh_expires = previous.refresh_token_expires_at.ToDatetime(tzinfo=UTC)
    scopes = list(grant.scopes) or (list(previous.scopes) if previous is not None else [])
    return credentials_from_dict(
        {
            "secrets": secrets,
            "access_token_expires_at": expires_after(grant.expires_in),
            "refresh_token_expires_at": refresh_expires,
            "scopes": scopes,
        }
    )
