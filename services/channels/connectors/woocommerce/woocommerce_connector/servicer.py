"""gRPC adapter of the WooCommerce (REST wc/v3) connector: proto → client/protocol → proto.

The connector servicer template (omnistock_connector_kit.servicer), API-key flavour: thin on
purpose, request handling lives in client.py and the protocol package. Errors are raised as
omnistock_common DomainErrors; the shared interceptor turns them into statuses.
"""

from __future__ import annotations

import grpc

from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock_common.errors import DomainError, InvalidArgument, Unauthenticated
from omnistock_connector_kit.connector_base import (
    CREDENTIALS_MISSING,
    timestamp_to_datetime,
)
from omnistock_connector_kit.endpoints import with_api_base_url
from omnistock_connector_kit.servicer import (
    ALL_CAPABILITIES,
    ApiKeyConnectorServicer,
    ChannelDescription,
    lowercase_headers,
    webhook_refused,
)
from woocommerce_connector import mapping as m
from woocommerce_connector import protocol as p
from woocommerce_connector import publishing
from woocommerce_connector.client import WooCommerceClient

CHANNEL_TYPE = "woocommerce"


class WooCommerceConnectorServicer(ApiKeyConnectorServicer[WooCommerceClient]):
    """omnistock.connector.v1.ConnectorService for WooCommerce stores (REST wc/v3, API keys)."""

    description = ChannelDescription(
        channel_type=CHANNEL_TYPE,
        auth_kind=pb.AUTH_KIND_API_KEY,
        capabilities=ALL_CAPABILITIES,
        max_inventory_batch=p.MAX_BATCH,
        max_price_batch=p.MAX_BATCH,
        api_version=p.API_VERSION,
        max_product_batch=p.MAX_PRODUCT_BATCH,
    )
    no_oauth_message = "WooCommerce uses API keys (consumer key/secret), not OAuth: use ValidateCredentials"
    no_refresh_message = "WooCommerce uses API keys, which never expire: there is nothing to refresh"

    def ValidateCredentials(
        self, request: pb.ValidateCredentialsRequest, context: grpc.ServicerContext
    ) -> pb.ValidateCredentialsResponse:
        with self.clients.open(request.connection) as client:
            account = client.validate()
            try:  # best effort: keys without settings access still connect
                currency = client.store_currency()
            except DomainError:
                currency = ""
        # Learnt settings: the channels service stores them on the connection, so prices are
        # pushed (and read back) in the store's currency.
        settings = {"currency": currency} if currency else {}
        return pb.ValidateCredentialsResponse(account_name=account, settings=settings)

    def PushInventory(
        self, request: pb.PushInventoryRequest, context: grpc.ServicerContext
    ) -> pb.PushInventoryResponse:
        plan = p.plan_inventory((i.sku, i.quantity, i.remote.ids) for i in request.items)
        results, calls, retried = self._push(request.connection, plan, [i.sku for i in request.items])
        return pb.PushInventoryResponse(results=results, calls=calls, retried=retried)

    def PushPrices(
        self, request: pb.PushPricesRequest, context: grpc.ServicerContext
    ) -> pb.PushPricesResponse:
        plan = p.plan_prices(m.price_inputs(request.items), request.connection.settings.get("currency", ""))
        results, calls, _retried = self._push(request.connection, plan, [i.sku for i in request.items])
        return pb.PushPricesResponse(results=results, calls=calls)

    def FetchOrders(
        self, request: pb.FetchOrdersRequest, context: grpc.ServicerContext
    ) -> pb.FetchOrdersResponse:
        since = timestamp_to_datetime(request.updated_since) if request.HasField("updated_since") else None
        with self.clients.open(request.connection) as client:
            page = client.fetch_orders(since, request.cursor, request.limit)
            retried = client.retried
        return pb.FetchOrdersResponse(
            orders=[m.order_to_proto(o) for o in page.orders], next_cursor=page.next_cursor, retried=retried
        )

    def CreateFulfillment(
        self, request: pb.CreateFulfillmentRequest, context: grpc.ServicerContext
    ) -> pb.CreateFulfillmentResponse:
        with self.clients.open(request.connection) as client:
            fulfillment_id = client.create_fulfillment(
                request.external_order_id,
                request.carrier,
                request.tracking_number,
                request.tracking_url,
                list(request.lines),
            )
        return pb.CreateFulfillmentResponse(external_fulfillment_id=fulfillment_id)

    def CancelOrder(
        self, request: pb.CancelOrderRequest, context: grpc.ServicerContext
    ) -> pb.CancelOrderResponse:
        with self.clients.open(request.connection) as client:
            order_id = client.cancel_order(request.external_order_id)
        return pb.CancelOrderResponse(external_id=order_id)

    def ParseWebhook(
        self, request: pb.ParseWebhookRequest, context: grpc.ServicerContext
    ) -> pb.ParseWebhookResponse:
        headers = lowercase_headers(request.headers)
        secret = request.connection.credentials.secrets.get("webhook_secret", "")
        if headers.get(p.SIGNATURE_HEADER) and not secret:
            raise Unauthenticated(
                "the connection has no webhook_secret to verify with", reason=CREDENTIALS_MISSING
            )
        settings = request.connection.settings
        try:
            parsed = p.parse_webhook(
                headers,
                request.raw_body,
                secret,
                # The store as this connection reaches it: a sandbox signs its webhooks with its
                # own URL, which is the store URL with api_base_url's scheme, host and port.
                store_url=with_api_base_url(p.store_url_of(settings), settings.get("api_base_url", "")),
                topics=p.subscribed_topics(settings.get("webhook_topics", "")),
            )
        except p.WebhookRefused as exc:
            raise webhook_refused(f"WooCommerce webhook refused: {exc}") from None
        return pb.ParseWebhookResponse(
            delivery_id=parsed.delivery_id,
            topic=parsed.topic,
            kind=m.WEBHOOK_KINDS[parsed.kind],
            orders=[m.order_to_proto(o) for o in parsed.orders],
        )

    def ReadInventory(
        self, request: pb.ReadInventoryRequest, context: grpc.ServicerContext
    ) -> pb.ReadInventoryResponse:
        with self.clients.open(request.connection) as client:
            results = client.read_inventory([(i.sku, i.remote.ids) for i in request.items])
        return pb.ReadInventoryResponse(quantities=m.quantities_to_proto(results))

    def ReadPrices(
        self, request: pb.ReadPricesRequest, context: grpc.ServicerContext
    ) -> pb.ReadPricesResponse:
        currency = request.connection.settings.get("currency", "")
        with self.clients.open(request.connection) as client:
            prices = client.read_prices(m.price_inputs(request.items), currency)
        return pb.ReadPricesResponse(prices=m.remote_prices_to_proto(prices))

    def ListRemoteProducts(
        self, request: pb.ListRemoteProductsRequest, context: grpc.ServicerContext
    ) -> pb.ListRemoteProductsResponse:
        if request.include_catalog:
            currency = request.connection.settings.get("currency", "")
            # The store's weight unit (WooCommerce > Settings > Products: kg, g, lbs, oz); kg unless
            # the connection's settings say otherwise.
            unit = request.connection.settings.get("weight_unit", "kg")
            with self.clients.open(request.connection) as client:
                catalog = client.list_catalog(
                    request.cursor, request.limit, currency or client.store_currency(), unit
                )
            return m.catalog_to_proto(catalog.products, catalog.next_cursor)
        with self.clients.open(request.connection) as client:
            page = client.list_products(request.cursor, request.limit)
        return m.products_to_proto(page)

    def UpsertProducts(
        self, request: pb.UpsertProductsRequest, context: grpc.ServicerContext
    ) -> pb.UpsertProductsResponse:
        products = m.product_upserts(request.products)
        if len(products) > p.MAX_PRODUCT_BATCH:
            raise InvalidArgument(f"at most {p.MAX_PRODUCT_BATCH} products per UpsertProducts call")
        settings = request.connection.settings
        with self.clients.open(request.connection) as client:
            results = publishing.upsert_products(
                client,
                products,
                store_currency=settings.get("currency", ""),
                # The store's weight unit (as ListRemoteProducts reads weights): kg unless set.
                weight_unit=settings.get("weight_unit", "kg"),
            )
            return pb.UpsertProductsResponse(results=m.product_results_to_proto(results), calls=client.calls)

    def ArchiveProducts(
        self, request: pb.ArchiveProductsRequest, context: grpc.ServicerContext
    ) -> pb.ArchiveProductsResponse:
        with self.clients.open(request.connection) as client:
            results = publishing.archive_products(client, m.product_refs(request.products))
            return pb.ArchiveProductsResponse(results=m.product_results_to_proto(results), calls=client.calls)

    def _push(
        self, connection: pb.ConnectionContext, plan: p.BatchPlan, skus: list[str]
    ) -> tuple[list[pb.ItemResult], int, list[str]]:
        """Run a batch plan; one result per requested SKU, the HTTP calls it took and what the
        retried ones met."""
        with self.clients.open(connection) as client:
            outcomes = client.run_batches(plan)
            calls, retried = client.calls, client.retried
        return m.results_in_request_order(skus, outcomes), calls, retried
