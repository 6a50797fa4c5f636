"""gRPC adapter of the Amazon connector: request → mapping → AmazonClient / bulk / publishing /
cancellation → mapping → response. Each RPC opens a short-lived AmazonClient from the call's
ConnectionContext; errors are omnistock_common DomainErrors (the shared interceptor maps them).
When the client refreshed the access token during the call (403 Unauthorized → refresh once →
retry once, client.py), the response carries `refreshed_credentials`; the refresh token itself
never changes.

Built: OAuth (LWA, website authorization), stock and prices (patch or JSON_LISTINGS_FEED), reads
back, the listings page and the catalog import (searchListingsItems grouped by variation family),
orders (getOrders, getOrderItems), fulfillment (confirmShipment), publishing (an offer per variant
on a catalog item matched by barcode, or a full listing of the connection's `product_type`;
putListingsItem / patch or a feed of UPDATE / PATCH messages; archive = quantity 0) and seller
cancellation (POST_ORDER_ACKNOWLEDGEMENT_DATA, StatusCode Failure). Not built: HTTP webhooks
(Amazon has none), variation families on publish.
Sources: amzn/selling-partner-api-models (listingsItems_2021-08-01.json, feeds_2021-06-30.json,
listings-feed-message-schema-v2.json, ordersV0.json, orders_2026-01-01.json, sellers.json);
https://developer-docs.amazon.com/sp-api/docs/listings-items-api-v2021-08-01-model,
https://developer-docs.amazon.com/sp-api/docs/submit-listings-data,
https://developer-docs.amazon.com/sp-api/docs/order-feed-type-values.
[M]: listing attribute names beyond condition_type / merchant_suggested_asin /
main_product_image_locator / purchasable_offer / fulfillment_availability (protocol/publish.py);
the order acknowledgement XML and its processing report (protocol/cancellation.py); the newer
`cancelOrder` operation of the developer docs, whose path no model names yet (README).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import grpc

from amazon_connector import bulk, cancellation, publishing
from amazon_connector import mapping as m
from amazon_connector import protocol as p
from amazon_connector.client import AmazonClient, ClientFactory, require_seller
from amazon_connector.config import Settings
from amazon_connector.protocol import cancellation as cx
from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock_common.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)
from omnistock_connector_kit.connector_base import CREDENTIALS_REVOKED, timestamp_to_datetime
from omnistock_connector_kit.oauth import credentials_from_grant
from omnistock_connector_kit.servicer import ChannelDescription, ConnectorServicerBase, webhook_refused

log = logging.getLogger(__name__)

OAUTH_CALLBACK_INVALID = "OAUTH_CALLBACK_INVALID"
MARKETPLACE_CHOICE_NEEDED = "MARKETPLACE_CHOICE_NEEDED"
# CATALOG: publishing (an offer per variant on a catalog item matched by barcode, or a full
# listing with the connection's product_type; archive = quantity 0) and the catalog import.
CAPABILITIES = (
    pb.CAPABILITY_INVENTORY,
    pb.CAPABILITY_PRICES,
    pb.CAPABILITY_ORDERS,
    pb.CAPABILITY_FULFILLMENT,
    pb.CAPABILITY_CATALOG,
)


class AmazonConnectorServicer(ConnectorServicerBase[AmazonClient]):
    """omnistock.connector.v1.ConnectorService for Amazon sellers (SP-API, LWA OAuth)."""

    description = ChannelDescription(
        channel_type="amazon",
        auth_kind=pb.AUTH_KIND_OAUTH,
        capabilities=CAPABILITIES,
        max_inventory_batch=p.MAX_INVENTORY_BATCH,
        max_price_batch=p.MAX_PRICE_BATCH,
        max_product_batch=p.MAX_PRODUCT_BATCH,
        api_version=p.API_VERSION,
    )
    clients: ClientFactory

    def __init__(self, settings: Settings, clients: ClientFactory) -> None:
        super().__init__(clients)
        self._settings = settings

    @contextmanager
    def _open(self, request: Any, response: Any) -> Iterator[AmazonClient]:
        """The client of this call; a token refreshed on the way lands in `response`."""
        current = request.connection.credentials
        with self.clients.open(request.connection) as amazon:
            try:
                yield amazon
            finally:
                if amazon.refreshed is not None:
                    response.refreshed_credentials.CopyFrom(
                        credentials_from_grant(amazon.refreshed, previous=current)
                    )

    # -- OAuth -----------------------------------------------------------------------------

    def BuildAuthorizationUrl(
        self, request: pb.BuildAuthorizationUrlRequest, context: grpc.ServicerContext
    ) -> pb.BuildAuthorizationUrlResponse:
        if not request.state or not request.redirect_uri:
            raise InvalidArgument("state and redirect_uri are required")
        return pb.BuildAuthorizationUrlResponse(
            authorization_url=p.consent_url(
                self.clients.consent_base(request.connection),
                application_id=self._settings.app_id,
                state=request.state,
                redirect_uri=request.redirect_uri,
                beta=self._settings.app_is_draft,
            )
        )

    def ExchangeCode(
        self, request: pb.ExchangeCodeRequest, context: grpc.ServicerContext
    ) -> pb.ExchangeCodeResponse:
        params = dict(request.callback_params)
        problem = p.callback_problem(params)
        if problem:
            raise Unauthenticated(f"OAuth callback refused: {problem}", reason=OAUTH_CALLBACK_INVALID)
        connection = request.connection
        partner = params["selling_partner_id"]
        known = connection.settings.get("seller_id") or connection.settings.get("store_id")
        if known and known != partner:
            raise Unauthenticated(
                "the consent came from another selling partner than this connection's",
                reason=OAUTH_CALLBACK_INVALID,
            )
        with self.clients.open(connection, token="") as amazon:
            grant = amazon.exchange_code(params["spapi_oauth_code"], request.redirect_uri)
        connection.settings["seller_id"] = partner
        market = self._marketplace(connection, grant.access_token)
        settings = {
            "store_id": partner,
            "seller_id": partner,
            "marketplace_id": market.marketplace_id,
            "region": p.region_of(connection.settings.get("region", "")) or p.DEFAULT_REGION,
            "currency": market.currency,
        }
        return pb.ExchangeCodeResponse(credentials=credentials_from_grant(grant), settings=settings)

    def _marketplace(self, connection: Any, access_token: str) -> p.Marketplace:
        """The seller's marketplace: the code is spent, so when the participations cannot be read
        and the connection names a known marketplace, that one is used (its currency from the
        marketplace table) rather than losing the tokens."""
        chosen = connection.settings.get("marketplace_id", "")
        try:
            with self.clients.open(connection, token=access_token) as amazon:
                markets = amazon.marketplaces()
        except (Unavailable, ResourceExhausted) as exc:
            if chosen not in p.MARKETPLACES:
                raise
            log.warning("marketplace participations unavailable after the code exchange: %s", exc.reason)
            country, currency = p.MARKETPLACES[chosen]
            return p.Marketplace(chosen, country, currency, "")
        return _choose_marketplace(markets, chosen)

    def RefreshCredentials(
        self, request: pb.RefreshCredentialsRequest, context: grpc.ServicerContext
    ) -> pb.RefreshCredentialsResponse:
        current = request.connection.credentials
        if not current.secrets.get("refresh_token"):
            raise Unauthenticated(
                "the connection has no LWA refresh token; re-authorize", reason=CREDENTIALS_REVOKED
            )
        with self.clients.open(request.connection, token="") as amazon:
            grant = amazon.refresh_access_token()
        return pb.RefreshCredentialsResponse(credentials=credentials_from_grant(grant, previous=current))

    def ValidateCredentials(
        self, request: pb.ValidateCredentialsRequest, context: grpc.ServicerContext
    ) -> pb.ValidateCredentialsResponse:
        with self.clients.open(request.connection) as amazon:
            markets = amazon.marketplaces()
        names = ", ".join(market.name or market.marketplace_id for market in markets)
        return pb.ValidateCredentialsResponse(
            account_name=f"Amazon seller ({names})" if names else "Amazon seller"
        )

    # -- stock and prices ------------------------------------------------------------------

    def PushInventory(
        self, request: pb.PushInventoryRequest, context: grpc.ServicerContext
    ) -> pb.PushInventoryResponse:
        response = pb.PushInventoryResponse()
        with self._open(request, response) as amazon:
            results = bulk.push_inventory(amazon, m.inventory_inputs(request.items))
            response.results.extend(m.item_results_to_proto(results))
            response.calls = amazon.calls
            response.retried.extend(amazon.retried)
        return response

    def PushPrices(
        self, request: pb.PushPricesRequest, context: grpc.ServicerContext
    ) -> pb.PushPricesResponse:
        response = pb.PushPricesResponse()
        with self._open(request, response) as amazon:
            results = bulk.push_prices(amazon, m.price_inputs(request.items))
            response.results.extend(m.item_results_to_proto(results))
            response.calls = amazon.calls
        return response

    def ReadInventory(
        self, request: pb.ReadInventoryRequest, context: grpc.ServicerContext
    ) -> pb.ReadInventoryResponse:
        items = m.inventory_inputs(request.items)
        response = pb.ReadInventoryResponse()
        with self._open(request, response) as amazon:
            require_seller(amazon)
            views = amazon.listings_by_sku([p.remote_sku(item) for item in items])
        response.quantities.extend(m.quantities_to_proto(items, views))
        return response

    def ReadPrices(
        self, request: pb.ReadPricesRequest, context: grpc.ServicerContext
    ) -> pb.ReadPricesResponse:
        items = m.price_inputs(request.items)
        response = pb.ReadPricesResponse()
        with self._open(request, response) as amazon:
            require_seller(amazon)
            views = amazon.listings_by_sku([p.remote_sku(item) for item in items])
        currency = request.connection.settings.get("currency", "")
        response.prices.extend(m.remote_prices_to_proto(m.remote_prices(items, views, currency)))
        return response

    def ListRemoteProducts(
        self, request: pb.ListRemoteProductsRequest, context: grpc.ServicerContext
    ) -> pb.ListRemoteProductsResponse:
        response = pb.ListRemoteProductsResponse()
        if request.include_catalog:
            with self._open(request, response) as amazon:
                require_seller(amazon)
                catalog, next_cursor = amazon.list_catalog(cursor=request.cursor, limit=request.limit)
            page = m.catalog_to_proto(catalog, next_cursor)
            response.catalog.extend(page.catalog)
            response.next_cursor = page.next_cursor
            return response
        with self._open(request, response) as amazon:
            require_seller(amazon)
            products, next_cursor = amazon.list_listings(cursor=request.cursor, limit=request.limit)
        page = m.products_to_proto(products, next_cursor)
        response.products.extend(page.products)
        response.next_cursor = page.next_cursor
        return response

    # -- orders ----------------------------------------------------------------------------

    def FetchOrders(
        self, request: pb.FetchOrdersRequest, context: grpc.ServicerContext
    ) -> pb.FetchOrdersResponse:
        since = timestamp_to_datetime(request.updated_since) if request.HasField("updated_since") else None
        response = pb.FetchOrdersResponse()
        with self._open(request, response) as amazon:
            require_seller(amazon)
            orders, next_cursor = amazon.fetch_orders(since=since, cursor=request.cursor, limit=request.limit)
            page = m.orders_to_proto(orders, next_cursor, amazon.retried)
        response.orders.extend(page.orders)
        response.next_cursor = page.next_cursor
        response.retried.extend(page.retried)
        return response

    def CreateFulfillment(
        self, request: pb.CreateFulfillmentRequest, context: grpc.ServicerContext
    ) -> pb.CreateFulfillmentResponse:
        if not p.is_order_id(request.external_order_id):
            raise InvalidArgument(
                "external_order_id must be an Amazon order id (3-7-7 digits)",
                violations=[FieldViolation("external_order_id", "e.g. 113-1234567-1234567")],
            )
        if not request.tracking_number:
            raise InvalidArgument("Amazon's confirmShipment requires a tracking_number")
        response = pb.CreateFulfillmentResponse()
        with self._open(request, response) as amazon:
            require_seller(amazon)
            response.external_fulfillment_id = amazon.confirm_shipment(
                request.external_order_id,
                m.fulfillment_lines(request.lines),
                carrier=request.carrier,
                tracking_number=request.tracking_number,
            )
        return response

    def CancelOrder(
        self, request: pb.CancelOrderRequest, context: grpc.ServicerContext
    ) -> pb.CancelOrderResponse:
        """The order acknowledgement feed with StatusCode Failure (cancellation.py): the whole
        order, unshipped only; the reason text picks Amazon's CancelReason (else the connection's
        `cancel_reason` setting, else BuyerCanceled)."""
        if not p.is_order_id(request.external_order_id):
            raise InvalidArgument(
                "external_order_id must be an Amazon order id (3-7-7 digits)",
                violations=[FieldViolation("external_order_id", "e.g. 113-1234567-1234567")],
            )
        response = pb.CancelOrderResponse()
        setting = request.connection.settings.get(cx.REASON_SETTING, "")
        with self._open(request, response) as amazon:
            response.external_id = cancellation.cancel_order(
                amazon, request.external_order_id, request.reason, setting
            )
        return response

    def ParseWebhook(
        self, request: pb.ParseWebhookRequest, context: grpc.ServicerContext
    ) -> pb.ParseWebhookResponse:
        raise webhook_refused("Amazon sends no HTTP webhooks (its notifications go to SQS or EventBridge)")

    def UpsertProducts(
        self, request: pb.UpsertProductsRequest, context: grpc.ServicerContext
    ) -> pb.UpsertProductsResponse:
        """One listing per variant: an offer on the catalog item its barcode matches, or a full
        listing of the connection's `product_type` setting (protocol.publish)."""
        products = m.product_upserts(request.products)
        if len(products) > p.MAX_PRODUCT_BATCH:
            raise InvalidArgument(f"at most {p.MAX_PRODUCT_BATCH} products per UpsertProducts call")
        settings = dict(request.connection.settings)
        response = pb.UpsertProductsResponse()
        with self._open(request, response) as amazon:
            results = publishing.upsert_products(amazon, products, settings)
            response.results.extend(m.product_results_to_proto(results))
            response.calls = amazon.calls
        return response

    def ArchiveProducts(
        self, request: pb.ArchiveProductsRequest, context: grpc.ServicerContext
    ) -> pb.ArchiveProductsResponse:
        """The product's listings get quantity 0: off sale, kept with their SKU and ASIN."""
        refs = m.product_refs(request.products)
        if len(refs) > p.MAX_PRODUCT_BATCH:
            raise InvalidArgument(f"at most {p.MAX_PRODUCT_BATCH} products per ArchiveProducts call")
        response = pb.ArchiveProductsResponse()
        with self._open(request, response) as amazon:
            results = publishing.archive_products(amazon, refs)
            response.results.extend(m.product_results_to_proto(results))
            response.calls = amazon.calls
        return response


def _choose_marketplace(markets: list[p.Marketplace], chosen: str) -> p.Marketplace:
    """The connection's marketplace_id setting, else the seller's only marketplace."""
    if chosen:
        for market in markets:
            if market.marketplace_id == chosen:
                return market
        raise InvalidArgument(
            f"the seller does not sell in marketplace {chosen}",
            violations=[
                FieldViolation("connection.settings.marketplace_id", "one of the seller's marketplaces")
            ],
        )
    if len(markets) == 1:
        return markets[0]
    if not markets:
        raise FailedPrecondition("the seller takes part in no marketplace", reason=MARKETPLACE_CHOICE_NEEDED)
    listed = ", ".join(f"{market.marketplace_id} ({market.country})" for market in markets)
    raise InvalidArgument(
        f"the seller sells in several marketplaces; choose one with the marketplace_id setting: {listed}",
        reason=MARKETPLACE_CHOICE_NEEDED,
        violations=[FieldViolation("connection.settings.marketplace_id", f"one of {listed}")],
    )
