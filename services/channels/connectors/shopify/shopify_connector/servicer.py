"""gRPC adapter of the Shopify connector: request → mapping → ShopifyClient operation → mapping
→ response (mapping.py converts; the client and protocol/ see plain values only).

The connector servicer template (omnistock_connector_kit.servicer): each RPC opens a short-lived
ShopifyClient from the call's ConnectionContext (`self.clients`, client.ClientFactory; the
connector keeps no state, the rate-limit bucket lives in Redis keyed by connection). Errors are
omnistock_common DomainErrors; the server interceptor maps them to statuses.
`refreshed_credentials` stays unset: refreshing is RefreshCredentials' job only (see
omnistock_connector_kit.connector_base for the refresh design).
"""

from __future__ import annotations

import logging

import grpc

from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock_common.errors import DomainError, InvalidArgument, Unauthenticated
from omnistock_connector_kit.channel_http import ChannelHttpError
from omnistock_connector_kit.connector_base import CREDENTIALS_REVOKED, timestamp_to_datetime
from omnistock_connector_kit.oauth import credentials_from_grant
from omnistock_connector_kit.servicer import (
    ALL_CAPABILITIES,
    ChannelDescription,
    ConnectorServicerBase,
    lowercase_headers,
    webhook_refused,
)
from shopify_connector import mapping as m
from shopify_connector import protocol as p
from shopify_connector import publishing
from shopify_connector.client import ClientFactory, ShopifyClient
from shopify_connector.config import Settings

log = logging.getLogger(__name__)

OAUTH_CALLBACK_INVALID = "OAUTH_CALLBACK_INVALID"


class ShopifyConnectorServicer(ConnectorServicerBase[ShopifyClient]):
    """omnistock.connector.v1.ConnectorService for Shopify shops (GraphQL Admin API, OAuth)."""

    description = ChannelDescription(
        channel_type="shopify",
        auth_kind=pb.AUTH_KIND_OAUTH,
        capabilities=ALL_CAPABILITIES,
        max_inventory_batch=p.MAX_INVENTORY_BATCH,
        max_price_batch=p.MAX_PRICE_BATCH,
        api_version=p.API_VERSION,
        max_product_batch=p.MAX_PRODUCT_BATCH,
    )
    clients: ClientFactory

    def __init__(self, settings: Settings, clients: ClientFactory) -> None:
        super().__init__(clients)
        self._settings = settings

    def BuildAuthorizationUrl(
        self, request: pb.BuildAuthorizationUrlRequest, context: grpc.ServicerContext
    ) -> pb.BuildAuthorizationUrlResponse:
        if not request.state or not request.redirect_uri:
            raise InvalidArgument("state and redirect_uri are required")
        base = self.clients.base_url(request.connection)
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
        if not request.connection.settings.get("shop_domain"):
            # The HMAC verified that Shopify sent this shop: it is the identity the host comes from.
            request.connection.settings["shop_domain"] = params["shop"].lower()
        with self.clients.open(request.connection, token="") as shopify:
            grant = shopify.exchange_code(
                self._settings.client_id, self._settings.client_secret, params["code"]
            )
        settings = {"shop_domain": params["shop"]}
        # The code is spent: a failure to learn the shop's details must not lose the token.
        try:
            with self.clients.open(request.connection, token=grant.access_token) as shopify:
                settings.update(shopify.shop_info().settings())
        except (DomainError, ChannelHttpError) as exc:
            log.warning("shop details after code exchange unavailable: %s", type(exc).__name__)
        return pb.ExchangeCodeResponse(credentials=credentials_from_grant(grant), settings=settings)

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
        with self.clients.open(request.connection, token="") as shopify:
            grant = shopify.refresh(self._settings.client_id, self._settings.client_secret, refresh_token)
        return pb.RefreshCredentialsResponse(credentials=credentials_from_grant(grant, previous=current))

    def ValidateCredentials(
        self, request: pb.ValidateCredentialsRequest, context: grpc.ServicerContext
    ) -> pb.ValidateCredentialsResponse:
        with self.clients.open(request.connection) as shopify:
            info = shopify.shop_info()
        return pb.ValidateCredentialsResponse(account_name=info.name, settings=info.settings())

    def PushInventory(
        self, request: pb.PushInventoryRequest, context: grpc.ServicerContext
    ) -> pb.PushInventoryResponse:
        connection = request.connection
        with self.clients.open(connection) as shopify:
            results = shopify.push_inventory(
                m.inventory_inputs(request.items),
                default_location=connection.settings.get("location_id", ""),
                reference=f"gid://omnistock/Connection/{connection.connection_id}",
            )
            return pb.PushInventoryResponse(
                results=m.item_results_to_proto(results), calls=shopify.calls, retried=shopify.retried
            )

    def PushPrices(
        self, request: pb.PushPricesRequest, context: grpc.ServicerContext
    ) -> pb.PushPricesResponse:
        currency = request.connection.settings.get("currency", "")
        with self.clients.open(request.connection) as shopify:
            results = shopify.push_prices(m.price_inputs(request.items), shop_currency=currency)
            return pb.PushPricesResponse(results=m.item_results_to_proto(results), calls=shopify.calls)

    def FetchOrders(
        self, request: pb.FetchOrdersRequest, context: grpc.ServicerContext
    ) -> pb.FetchOrdersResponse:
        since = timestamp_to_datetime(request.updated_since) if request.HasField("updated_since") else None
        with self.clients.open(request.connection) as shopify:
            orders, next_cursor = shopify.fetch_orders(
                search=p.orders_search(since), cursor=request.cursor, limit=request.limit
            )
            retried = shopify.retried
        return m.orders_to_proto(orders, next_cursor, retried)

    def CreateFulfillment(
        self, request: pb.CreateFulfillmentRequest, context: grpc.ServicerContext
    ) -> pb.CreateFulfillmentResponse:
        if not request.external_order_id:
            raise InvalidArgument("external_order_id is required")
        with self.clients.open(request.connection) as shopify:
            fulfillment_id = shopify.create_fulfillment(
                request.external_order_id,
                m.fulfillment_lines(request.lines),
                carrier=request.carrier,
                tracking_number=request.tracking_number,
                tracking_url=request.tracking_url,
            )
        return pb.CreateFulfillmentResponse(external_fulfillment_id=fulfillment_id)

    def CancelOrder(
        self, request: pb.CancelOrderRequest, context: grpc.ServicerContext
    ) -> pb.CancelOrderResponse:
        if not request.external_order_id:
            raise InvalidArgument("external_order_id is required")
        # The connection setting `cancel_refund` = "false" cancels without refunding the payment.
        refund = request.connection.settings.get("cancel_refund", "true").strip().lower() != "false"
        with self.clients.open(request.connection) as shopify:
            job_id = shopify.cancel_order(request.external_order_id, request.reason, refund=refund)
        return pb.CancelOrderResponse(external_id=job_id or p.gid("Order", request.external_order_id))

    def ParseWebhook(
        self, request: pb.ParseWebhookRequest, context: grpc.ServicerContext
    ) -> pb.ParseWebhookResponse:
        headers = lowercase_headers(request.headers)
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
            raise webhook_refused(f"webhook refused: {problem}")
        return m.webhook_to_proto(p.parsed_webhook(headers, raw))

    def ReadInventory(
        self, request: pb.ReadInventoryRequest, context: grpc.ServicerContext
    ) -> pb.ReadInventoryResponse:
        location = request.connection.settings.get("location_id", "")
        with self.clients.open(request.connection) as shopify:
            quantities = shopify.read_inventory(m.inventory_inputs(request.items), default_location=location)
        return pb.ReadInventoryResponse(quantities=m.quantities_to_proto(quantities))

    def ReadPrices(
        self, request: pb.ReadPricesRequest, context: grpc.ServicerContext
    ) -> pb.ReadPricesResponse:
        currency = request.connection.settings.get("currency", "")
        with self.clients.open(request.connection) as shopify:
            prices = shopify.read_prices(m.price_inputs(request.items), shop_currency=currency)
        return pb.ReadPricesResponse(prices=m.remote_prices_to_proto(prices))

    def ListRemoteProducts(
        self, request: pb.ListRemoteProductsRequest, context: grpc.ServicerContext
    ) -> pb.ListRemoteProductsResponse:
        location = request.connection.settings.get("location_id", "")
        if request.include_catalog:
            currency = request.connection.settings.get("currency", "")
            with self.clients.open(request.connection) as shopify:
                currency = currency or shopify.shop_info().currency
                catalog, next_cursor = shopify.list_catalog(
                    cursor=request.cursor, limit=request.limit, currency=currency
                )
            return m.catalog_to_proto(catalog, next_cursor)
        with self.clients.open(request.connection) as shopify:
            location = location or shopify.shop_info().location_id
            products, next_cursor = shopify.list_variants(
                cursor=request.cursor, limit=request.limit, location_id=location
            )
        return m.products_to_proto(products, next_cursor)

    def UpsertProducts(
        self, request: pb.UpsertProductsRequest, context: grpc.ServicerContext
    ) -> pb.UpsertProductsResponse:
        products = m.product_upserts(request.products)
        if len(products) > p.MAX_PRODUCT_BATCH:
            raise InvalidArgument(f"at most {p.MAX_PRODUCT_BATCH} products per UpsertProducts call")
        location = request.connection.settings.get("location_id", "")
        with self.clients.open(request.connection) as shopify:
            # The listing ids carry the location stock is pushed to, as ListRemoteProducts gives them.
            location = location or shopify.shop_info().location_id
            results = publishing.upsert_products(
                shopify,
                products,
                location_id=location,
                shop_currency=request.connection.settings.get("currency", ""),
            )
            return pb.UpsertProductsResponse(results=m.product_results_to_proto(results), calls=shopify.calls)

    def ArchiveProducts(
        self, request: pb.ArchiveProductsRequest, context: grpc.ServicerContext
    ) -> pb.ArchiveProductsResponse:
        with self.clients.open(request.connection) as shopify:
            results = publishing.archive_products(shopify, m.product_refs(request.products))
            return pb.ArchiveProductsResponse(
                results=m.product_results_to_proto(results), calls=shopify.calls
            )
