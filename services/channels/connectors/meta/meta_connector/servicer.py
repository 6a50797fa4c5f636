"""gRPC adapter of the Meta connector (Facebook Shop and Instagram Shopping): request → mapping →
MetaClient operation → mapping → response.

One connector, two channel types: a connection's ConnectionContext.channel_type is "facebook" or
"instagram"; both sell from the same Commerce Manager catalog, so every RPC but the login
(Instagram asks for its permissions and needs the Page's Instagram business account) is the same.
Describe has one channel_type field: it answers "facebook", the registry routes both types here.

The connection's settings (ExchangeCode fills them): store_id (the catalog id), store_name,
business_id, page_id, cms_id (the commerce account, when the shop has onsite checkout),
instagram_account_id (instagram), orders ("supported" | "unavailable").
Credentials: access_token (long-lived user token, absolute expiry) and page_access_token.
`refreshed_credentials` stays unset: renewing is RefreshCredentials' job only.
"""

from __future__ import annotations

import logging

import grpc

from meta_connector import mapping as m
from meta_connector import protocol as p
from meta_connector import publishing
from meta_connector.client import ClientFactory, Discovery, MetaClient
from meta_connector.config import Settings
from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock_common.errors import (
    DomainError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)
from omnistock_connector_kit.connector_base import require_secret, require_setting, timestamp_to_datetime
from omnistock_connector_kit.oauth import credentials_from_grant
from omnistock_connector_kit.servicer import (
    ChannelDescription,
    ConnectorServicerBase,
    lowercase_headers,
    webhook_refused,
)

log = logging.getLogger(__name__)

OAUTH_CALLBACK_INVALID = "OAUTH_CALLBACK_INVALID"
NO_ONSITE_CHECKOUT = "NO_ONSITE_CHECKOUT"
CATALOG_NOT_CHOSEN = "CATALOG_NOT_CHOSEN"
NO_INSTAGRAM_ACCOUNT = "NO_INSTAGRAM_ACCOUNT"
WEBHOOK_CHALLENGE_REFUSED = "WEBHOOK_CHALLENGE_REFUSED"


class MetaConnectorServicer(ConnectorServicerBase[MetaClient]):
    """omnistock.connector.v1.ConnectorService for Meta shops (Graph API v25.0, Facebook Login)."""

    description = ChannelDescription(
        channel_type="facebook",  # one field; "instagram" connections are served the same way
        auth_kind=pb.AUTH_KIND_OAUTH,
        # CATALOG: publishing (items_batch CREATE/UPDATE, archive = visibility staging) and the
        # catalog import. ORDERS/FULFILLMENT need onsite checkout: without a cms_id they answer
        # empty / FAILED_PRECONDITION per connection. WEBHOOKS: signed deliveries and the
        # subscription challenge are handled, but every delivery is kind OTHER (no verified order
        # webhook).
        capabilities=(
            pb.CAPABILITY_INVENTORY,
            pb.CAPABILITY_PRICES,
            pb.CAPABILITY_ORDERS,
            pb.CAPABILITY_FULFILLMENT,
            pb.CAPABILITY_WEBHOOKS,
            pb.CAPABILITY_CATALOG,
        ),
        max_inventory_batch=p.MAX_BATCH_REQUESTS,
        max_price_batch=p.MAX_BATCH_REQUESTS,
        max_product_batch=p.MAX_PRODUCT_BATCH,
        api_version=p.API_VERSION,
    )
    clients: ClientFactory

    def __init__(self, settings: Settings, clients: ClientFactory) -> None:
        super().__init__(clients)
        self._settings = settings

    # -- OAuth ---------------------------------------------------------------------------------

    def BuildAuthorizationUrl(
        self, request: pb.BuildAuthorizationUrlRequest, context: grpc.ServicerContext
    ) -> pb.BuildAuthorizationUrlResponse:
        if not request.state or not request.redirect_uri:
            raise InvalidArgument("state and redirect_uri are required")
        connection = request.connection
        return pb.BuildAuthorizationUrlResponse(
            authorization_url=p.authorization_url(
                self.clients.dialog_base(connection),
                app_id=self._settings.app_id,
                redirect_uri=request.redirect_uri,
                state=request.state,
                scopes=p.scopes_for(
                    connection.channel_type, connection.settings.get("scopes") or self._settings.scopes
                ),
            )
        )

    def ExchangeCode(
        self, request: pb.ExchangeCodeRequest, context: grpc.ServicerContext
    ) -> pb.ExchangeCodeResponse:
        params = dict(request.callback_params)
        problem = p.callback_problem(params)
        if problem:
            raise Unauthenticated(f"OAuth callback refused: {problem}", reason=OAUTH_CALLBACK_INVALID)
        if not request.redirect_uri:
            raise InvalidArgument("redirect_uri is required (the code is bound to it)")
        connection = request.connection
        app_id, secret = self._settings.app_id, self._settings.app_secret
        with self.clients.open(connection, token="") as meta:
            short = meta.exchange_code(app_id, secret, request.redirect_uri, params["code"])
            grant = meta.long_lived(app_id, secret, short.access_token)
        instagram = connection.channel_type == "instagram"
        with self.clients.open(connection, token=grant.access_token) as meta:
            found = meta.discover(with_instagram=instagram)
            catalog = p.choose_catalog(found.catalogs, connection.settings.get("store_id", ""))
            if isinstance(catalog, str):
                raise InvalidArgument(
                    catalog,
                    reason=CATALOG_NOT_CHOSEN,
                    violations=[
                        FieldViolation("connection.settings.store_id", "a catalog id this account manages")
                    ],
                )
            page, cms_id = self._choose_page(meta, found, connection.settings.get("page_id", ""), instagram)
        settings = {
            "store_id": catalog.id,
            "store_name": catalog.name,
            "business_id": catalog.business_id,
            "page_id": page.id if page else "",
            "cms_id": cms_id,
            "instagram_account_id": page.instagram_account_id if page and instagram else "",
            "orders": "supported" if cms_id else "unavailable",
        }
        credentials = credentials_from_grant(grant)
        if page is not None and page.access_token:
            credentials.secrets["page_access_token"] = page.access_token
        return pb.ExchangeCodeResponse(
            credentials=credentials, settings={k: v for k, v in settings.items() if v}
        )

    @staticmethod
    def _choose_page(
        meta: MetaClient, found: Discovery, wanted: str, instagram: bool
    ) -> tuple[p.Page | None, str]:
        """The shop's Page and its commerce account: `wanted` (page_id setting), else the first Page
        with onsite checkout, else the first Page; Instagram needs a Page with an Instagram
        business account."""
        pages = [pg for pg in found.pages if pg.instagram_account_id] if instagram else list(found.pages)
        if wanted:
            pages = [pg for pg in pages if pg.id == wanted]
            if not pages:
                raise InvalidArgument(
                    f"page {wanted} is not a Page this account manages"
                    + (" with an Instagram business account" if instagram else ""),
                    violations=[FieldViolation("connection.settings.page_id", "a Page this account manages")],
                )
        if not pages:
            if instagram:
                raise FailedPrecondition(
                    "none of this account's Pages has an Instagram business account linked",
                    reason=NO_INSTAGRAM_ACCOUNT,
                )
            return None, ""
        for page in pages:
            try:
                cms_id = meta.commerce_merchant_settings(page)
            except (ResourceExhausted, Unavailable):
                raise
            except DomainError as exc:
                log.info("no commerce settings readable for page %s: %s", page.id, type(exc).__name__)
                cms_id = ""
            if cms_id:
                return page, cms_id
        return pages[0], ""

    def RefreshCredentials(
        self, request: pb.RefreshCredentialsRequest, context: grpc.ServicerContext
    ) -> pb.RefreshCredentialsResponse:
        """Meta has no refresh token: the still-valid long-lived token is exchanged for a new one
        (~60 days; Meta documents the exchange for short-lived tokens and that an expired token
        cannot be exchanged, https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived;
        a fresh expiry for a long-lived one is [M]). An expired or revoked one is UNAUTHENTICATED
        CREDENTIALS_REVOKED."""
        current = request.connection.credentials
        token = require_secret(request.connection, "access_token")
        with self.clients.open(request.connection, token="") as meta:
            grant = meta.long_lived(self._settings.app_id, self._settings.app_secret, token)
        credentials = credentials_from_grant(grant, previous=current)
        if current.secrets.get("page_access_token"):
            credentials.secrets["page_access_token"] = current.secrets["page_access_token"]
        return pb.RefreshCredentialsResponse(credentials=credentials)

    def ValidateCredentials(
        self, request: pb.ValidateCredentialsRequest, context: grpc.ServicerContext
    ) -> pb.ValidateCredentialsResponse:
        catalog_id = _catalog_id(request.connection)
        with self.clients.open(request.connection) as meta:
            catalog = meta.catalog(catalog_id)
        return pb.ValidateCredentialsResponse(
            account_name=catalog.name or catalog.id,
            settings={"store_id": catalog.id, "store_name": catalog.name},
        )

    # -- stock and prices ------------------------------------------------------------------------

    def PushInventory(
        self, request: pb.PushInventoryRequest, context: grpc.ServicerContext
    ) -> pb.PushInventoryResponse:
        catalog_id = _catalog_id(request.connection)
        items = m.inventory_inputs(request.items)
        sendable = [(i.sku, p.inventory_request(i)) for i in items if i.sku]
        with self.clients.open(request.connection) as meta:
            pushed = iter(meta.push(catalog_id, sendable) if sendable else [])
            results = [
                next(pushed) if i.sku else p.ItemResult("", p.Outcome.REJECTED, "no SKU") for i in items
            ]
            return pb.PushInventoryResponse(
                results=m.item_results_to_proto(results), calls=meta.calls, retried=meta.retried
            )

    def PushPrices(
        self, request: pb.PushPricesRequest, context: grpc.ServicerContext
    ) -> pb.PushPricesResponse:
        catalog_id = _catalog_id(request.connection)
        items = m.price_inputs(request.items)
        problems = [("no SKU" if not i.sku else p.price_problem(i)) for i in items]
        sendable = [
            (i.sku, p.price_request(i)) for i, problem in zip(items, problems, strict=True) if not problem
        ]
        with self.clients.open(request.connection) as meta:
            pushed = iter(meta.push(catalog_id, sendable) if sendable else [])
            results = [
                p.ItemResult(i.sku, p.Outcome.REJECTED, problem) if problem else next(pushed)
                for i, problem in zip(items, problems, strict=True)
            ]
            return pb.PushPricesResponse(results=m.item_results_to_proto(results), calls=meta.calls)

    def ReadInventory(
        self, request: pb.ReadInventoryRequest, context: grpc.ServicerContext
    ) -> pb.ReadInventoryResponse:
        catalog_id = _catalog_id(request.connection)
        skus = [i.sku for i in request.items]
        with self.clients.open(request.connection) as meta:
            found = meta.read_items(catalog_id, skus)
        return pb.ReadInventoryResponse(
            quantities=m.quantities_to_proto(p.remote_quantity(sku, found.get(sku)) for sku in skus)
        )

    def ReadPrices(
        self, request: pb.ReadPricesRequest, context: grpc.ServicerContext
    ) -> pb.ReadPricesResponse:
        catalog_id = _catalog_id(request.connection)
        skus = [i.sku for i in request.items]
        with self.clients.open(request.connection) as meta:
            found = meta.read_items(catalog_id, skus)
        return pb.ReadPricesResponse(
            prices=m.remote_prices_to_proto(p.remote_price(sku, found.get(sku)) for sku in skus)
        )

    def ListRemoteProducts(
        self, request: pb.ListRemoteProductsRequest, context: grpc.ServicerContext
    ) -> pb.ListRemoteProductsResponse:
        catalog_id = _catalog_id(request.connection)
        if request.include_catalog:
            with self.clients.open(request.connection) as meta:
                catalog, next_cursor = meta.list_catalog(
                    catalog_id, cursor=request.cursor, limit=request.limit
                )
            return m.catalog_to_proto(catalog, next_cursor)
        with self.clients.open(request.connection) as meta:
            products, next_cursor = meta.list_products(catalog_id, cursor=request.cursor, limit=request.limit)
        return m.products_to_proto(products, next_cursor)

    def UpsertProducts(
        self, request: pb.UpsertProductsRequest, context: grpc.ServicerContext
    ) -> pb.UpsertProductsResponse:
        """Each variant is one catalog item (retailer id = SKU) in the product's item group; the
        item `link` comes from the connection's product_url_template or store_url setting."""
        catalog_id = _catalog_id(request.connection)
        products = m.product_upserts(request.products)
        if len(products) > p.MAX_PRODUCT_BATCH:
            raise InvalidArgument(f"at most {p.MAX_PRODUCT_BATCH} products per UpsertProducts call")
        settings = dict(request.connection.settings)
        with self.clients.open(request.connection) as meta:
            results = publishing.upsert_products(meta, catalog_id, products, settings)
            return pb.UpsertProductsResponse(results=m.product_results_to_proto(results), calls=meta.calls)

    def ArchiveProducts(
        self, request: pb.ArchiveProductsRequest, context: grpc.ServicerContext
    ) -> pb.ArchiveProductsResponse:
        """The product's items get visibility=staging: off the shops, kept with their ids."""
        catalog_id = _catalog_id(request.connection)
        refs = m.product_refs(request.products)
        if len(refs) > p.MAX_PRODUCT_BATCH:
            raise InvalidArgument(f"at most {p.MAX_PRODUCT_BATCH} products per ArchiveProducts call")
        with self.clients.open(request.connection) as meta:
            results = publishing.archive_products(meta, catalog_id, refs)
            return pb.ArchiveProductsResponse(results=m.product_results_to_proto(results), calls=meta.calls)

    # -- orders ------------------------------------------------------------------------------------

    def FetchOrders(
        self, request: pb.FetchOrdersRequest, context: grpc.ServicerContext
    ) -> pb.FetchOrdersResponse:
        """Orders updated since `updated_since` in CREATED, IN_PROGRESS or COMPLETED. Each CREATED
        order is acknowledged first and returned only if that succeeded (Meta: never process an
        order whose acknowledgement failed); an acknowledged order whose answer got lost is
        IN_PROGRESS on the next poll and returned then. No commerce account: no orders."""
        connection = request.connection
        cms_id = connection.settings.get("cms_id", "")
        if not cms_id:
            return pb.FetchOrdersResponse()
        since = timestamp_to_datetime(request.updated_since) if request.HasField("updated_since") else None
        token = _orders_token(connection)
        orders: list[p.OrderData] = []
        with self.clients.open(connection) as meta:
            page, next_cursor = meta.list_orders(
                cms_id,
                token=token,
                updated_after=p.updated_after(since),
                cursor=request.cursor,
                limit=request.limit,
            )
            for order in page:
                order_id = str(order.get("id") or "")
                state = p.order_state(order)
                if not p.is_graph_id(order_id) or state not in p.ORDER_STATES:
                    continue
                if not p.bought_on(order, connection.channel_type):
                    continue  # the other Meta channel's connection imports (and acknowledges) it
                if state == p.CREATED:
                    if not meta.acknowledge(order_id, token=token, reference=f"omnistock-{order_id}"):
                        continue
                    order = {**order, "order_status": {"state": p.IN_PROGRESS}}
                items = meta.order_items(order_id, token=token)
                cancelled = state == p.COMPLETED and p.fully_cancelled(
                    items, meta.order_cancellations(order_id, token=token)
                )
                orders.append(p.parse_order(order, items, cancelled=cancelled))
            retried = meta.retried
        return m.orders_to_proto(orders, next_cursor, retried)

    def CreateFulfillment(
        self, request: pb.CreateFulfillmentRequest, context: grpc.ServicerContext
    ) -> pb.CreateFulfillmentResponse:
        connection = request.connection
        order_id = _order_id(request.external_order_id)
        cms_required(connection)
        token = _orders_token(connection)
        lines = m.fulfillment_lines(request.lines)
        if any(not sku or quantity <= 0 for sku, quantity in lines):
            raise InvalidArgument("every shipped line needs a SKU (retailer id) and a positive quantity")
        with self.clients.open(connection) as meta:
            if not lines:  # the whole order
                lines = [
                    (str(i.get("retailer_id") or ""), int(i.get("quantity") or 0))
                    for i in meta.order_items(order_id, token=token)
                ]
            body = p.shipment_body(
                order_id, lines, carrier=request.carrier, tracking_number=request.tracking_number
            )
            shipment_id = meta.ship(order_id, body, token=token)
        return pb.CreateFulfillmentResponse(external_fulfillment_id=shipment_id)

    def CancelOrder(
        self, request: pb.CancelOrderRequest, context: grpc.ServicerContext
    ) -> pb.CancelOrderResponse:
        connection = request.connection
        order_id = _order_id(request.external_order_id)
        cms_required(connection)
        with self.clients.open(connection) as meta:
            meta.cancel(
                order_id, p.cancellation_body(order_id, request.reason), token=_orders_token(connection)
            )
        return pb.CancelOrderResponse(external_id=order_id)

    # -- webhooks ----------------------------------------------------------------------------------

    def ParseWebhook(
        self, request: pb.ParseWebhookRequest, context: grpc.ServicerContext
    ) -> pb.ParseWebhookResponse:
        headers = lowercase_headers(request.headers)
        raw = bytes(request.raw_body)
        problem = p.webhook_problem(headers, raw, self._settings.webhook_secrets)
        if problem:
            raise webhook_refused(f"webhook refused: {problem}")
        return m.webhook_to_proto(p.parsed_webhook(raw))

    def AnswerWebhookChallenge(
        self, request: pb.AnswerWebhookChallengeRequest, context: grpc.ServicerContext
    ) -> pb.AnswerWebhookChallengeResponse:
        """Meta's subscription check: hub.mode=subscribe with our verify token → the challenge."""
        answer = p.challenge_answer(dict(request.query), self._settings.webhook_verify_token)
        if answer is None:
            raise PermissionDenied(
                "not a Meta subscription check with this app's verify token", reason=WEBHOOK_CHALLENGE_REFUSED
            )
        return pb.AnswerWebhookChallengeResponse(content_type="text/plain", body=answer.encode())


def _catalog_id(connection: pb.ConnectionContext) -> str:
    catalog_id = require_setting(connection, "store_id")
    if not p.is_graph_id(catalog_id):
        raise InvalidArgument(
            "store_id must be a Meta catalog id (digits)",
            violations=[FieldViolation("connection.settings.store_id", "a catalog id")],
        )
    return catalog_id


def _order_id(value: str) -> str:
    if not p.is_graph_id(value):
        raise InvalidArgument(
            "external_order_id must be a Meta order id (digits)",
            violations=[FieldViolation("external_order_id", "a Meta commerce order id")],
        )
    return value


def cms_required(connection: pb.ConnectionContext) -> None:
    if not connection.settings.get("cms_id"):
        raise FailedPrecondition(
            "Meta has no checkout for this shop (no commerce account with onsite orders): "
            "orders are handled on the merchant's website",
            reason=NO_ONSITE_CHECKOUT,
        )


def _orders_token(connection: pb.ConnectionContext) -> str:
    """The Page token when the connection has one (Order Management wants it), else the user token."""
    return connection.credentials.secrets.get("page_access_token") or require_secret(
        connection, "access_token"
    )
