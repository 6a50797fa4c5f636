"""gRPC adapter of the eBay connector: request → mapping → EbayClient / pushing / publishing →
mapping → response. Errors are omnistock_common DomainErrors (the shared interceptor maps them).

Built: OAuth (RuName), stock and prices under the revision budget, auto-map, orders and shipments,
account-deletion notifications, publishing (UpsertProducts/ArchiveProducts: inventory items, item
groups, offers, publish/withdraw; publishing.py), the catalogue import (ListRemoteProducts
include_catalog; protocol/catalog_import.py) and seller cancellation (CancelOrder through the
Post-Order API, protocol/cancel.py). Sources are cited in each protocol module and the README; the
points marked [M] there (e.g. Post-Order's "IAF" header form, revisions per call) were not verified
on eBay's own pages.

Calls made with the connection's user token may refresh it once on 401 errorId 1001 (client.py);
the new access token then comes back as `refreshed_credentials` (the refresh token, which eBay
never rotates, and its expiry are kept).
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import grpc

from ebay_connector import mapping as m
from ebay_connector import protocol as p
from ebay_connector import publishing
from ebay_connector.client import ORDER_CANCEL_REFUSED, ClientFactory, EbayClient
from ebay_connector.config import Settings
from ebay_connector.protocol import cancel as pc
from ebay_connector.protocol import publish as pub
from ebay_connector.pushing import Budget, push_prices, push_quantities, refresh_token_limits
from ebay_connector.revisions import RevisionLedger
from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock_common.errors import (
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    PermissionDenied,
    Unauthenticated,
)
from omnistock_connector_kit.channel_http import ChannelHttpError
from omnistock_connector_kit.connector_base import CREDENTIALS_REVOKED, timestamp_to_datetime
from omnistock_connector_kit.oauth import credentials_from_grant
from omnistock_connector_kit.servicer import (
    ChannelDescription,
    ConnectorServicerBase,
    lowercase_headers,
    webhook_refused,
)

log = logging.getLogger(__name__)

OAUTH_CALLBACK_INVALID = "OAUTH_CALLBACK_INVALID"
PUBLIC_KEY_CACHE_SIZE = 64
# eBay application tokens live 7200 s; reuse one for a little less.
APP_TOKEN_SECONDS = 7000.0


class EbayConnectorServicer(ConnectorServicerBase[EbayClient]):
    """omnistock.connector.v1.ConnectorService for eBay sellers (Sell Inventory/Fulfillment v1)."""

    description = ChannelDescription(
        channel_type="ebay",
        auth_kind=pb.AUTH_KIND_OAUTH,
        capabilities=(
            pb.CAPABILITY_INVENTORY,
            pb.CAPABILITY_PRICES,
            pb.CAPABILITY_ORDERS,
            pb.CAPABILITY_FULFILLMENT,
            pb.CAPABILITY_WEBHOOKS,
            pb.CAPABILITY_CATALOG,
        ),
        max_inventory_batch=p.MAX_BULK_REQUESTS,
        max_price_batch=p.MAX_BULK_REQUESTS,
        max_product_batch=pub.MAX_PRODUCT_BATCH,
        api_version=p.API_VERSION,
    )
    clients: ClientFactory

    def __init__(
        self,
        settings: Settings,
        clients: ClientFactory,
        ledger: RevisionLedger,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(clients)
        self._settings = settings
        self._ledger = ledger
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, str] = {}  # "<api base> <kid>" → getPublicKey's key
        self._app_token: tuple[str, float] | None = None

    # -- helpers -----------------------------------------------------------------------------

    def _marketplace(self, connection: pb.ConnectionContext) -> str:
        return (connection.settings.get("marketplace_id") or p.DEFAULT_MARKETPLACE).upper()

    def _currency(self, connection: pb.ConnectionContext) -> str:
        return connection.settings.get("currency") or p.currency_of(self._marketplace(connection))

    def _refreshed(self, client: EbayClient, connection: pb.ConnectionContext) -> pb.Credentials | None:
        if client.refreshed is None:
            return None
        return credentials_from_grant(client.refreshed, previous=connection.credentials)

    def _budget(self, connection: pb.ConnectionContext) -> Budget:
        return Budget(self._ledger, connection.connection_id, self._clock(), self._settings.revision_reserve)

    def _limits(self, budget: Budget, connection: pb.ConnectionContext) -> dict[str, str]:
        creds = connection.credentials
        expires = (
            creds.refresh_token_expires_at.ToDatetime(tzinfo=UTC)
            if creds.HasField("refresh_token_expires_at")
            else None
        )
        return {**budget.limits(), **refresh_token_limits(expires, self._clock())}

    # -- OAuth -------------------------------------------------------------------------------

    def BuildAuthorizationUrl(
        self, request: pb.BuildAuthorizationUrlRequest, context: grpc.ServicerContext
    ) -> pb.BuildAuthorizationUrlResponse:
        """eBay's consent page takes the app's RuName as redirect_uri, never a URL: eBay sends the
        seller to the accept URL registered for that RuName (request.redirect_uri is ignored)."""
        if not request.state:
            raise InvalidArgument("state is required")
        connection = request.connection
        scopes = p.scope_list(connection.settings.get("scopes", "")) or list(self._settings.scopes)
        return pb.BuildAuthorizationUrlResponse(
            authorization_url=p.authorization_url(
                self.clients.base_url(connection, p.AUTH_HOST),
                client_id=self._settings.client_id,
                ru_name=connection.settings.get("ru_name") or self._settings.ru_name,
                scopes=scopes,
                state=request.state,
            )
        )

    def ExchangeCode(
        self, request: pb.ExchangeCodeRequest, context: grpc.ServicerContext
    ) -> pb.ExchangeCodeResponse:
        params = dict(request.callback_params)
        code = p.callback_code(params)
        if params.get("error") or not code:
            raise Unauthenticated(
                f"OAuth callback refused: {params.get('error') or 'no code'}", reason=OAUTH_CALLBACK_INVALID
            )
        connection = request.connection
        ru_name = connection.settings.get("ru_name") or self._settings.ru_name
        with self.clients.open(connection, token="") as ebay:
            grant = ebay.exchange_code(code, ru_name)
        if not grant.scopes:  # eBay's code answer lists no scopes: they are the ones asked for
            asked = p.scope_list(connection.settings.get("scopes", "")) or list(self._settings.scopes)
            grant = replace(grant, scopes=tuple(asked))
        marketplace = self._marketplace(connection)
        settings = {"marketplace_id": marketplace, "currency": self._currency(connection)}
        # The code is spent: failing to learn the seller must not lose the token.
        try:
            with self.clients.open(connection, token=grant.access_token, host=p.APIZ_HOST) as ebay:
                seller = ebay.seller()
            settings.update({"store_id": seller.user_id, "store_name": seller.username})
        except (DomainError, ChannelHttpError) as exc:
            log.warning("eBay seller identity after code exchange unavailable: %s", type(exc).__name__)
        return pb.ExchangeCodeResponse(
            credentials=credentials_from_grant(grant), settings={k: v for k, v in settings.items() if v}
        )

    def RefreshCredentials(
        self, request: pb.RefreshCredentialsRequest, context: grpc.ServicerContext
    ) -> pb.RefreshCredentialsResponse:
        current = request.connection.credentials
        refresh_token = current.secrets.get("refresh_token", "")
        if not refresh_token:
            raise Unauthenticated(
                "no eBay refresh token; the seller must authorize again", reason=CREDENTIALS_REVOKED
            )
        with self.clients.open(request.connection, token="") as ebay:
            ebay.scopes = tuple(current.scopes) or self._settings.scopes
            grant = ebay.refresh(refresh_token)
        return pb.RefreshCredentialsResponse(credentials=credentials_from_grant(grant, previous=current))

    def ValidateCredentials(
        self, request: pb.ValidateCredentialsRequest, context: grpc.ServicerContext
    ) -> pb.ValidateCredentialsResponse:
        with self.clients.open(request.connection, host=p.APIZ_HOST) as ebay:
            seller = ebay.seller()
        settings = {"store_id": seller.user_id, "store_name": seller.username}
        return pb.ValidateCredentialsResponse(
            account_name=seller.username, settings={k: v for k, v in settings.items() if v}
        )

    # -- stock and price ---------------------------------------------------------------------

    def PushInventory(
        self, request: pb.PushInventoryRequest, context: grpc.ServicerContext
    ) -> pb.PushInventoryResponse:
        connection = request.connection
        budget = self._budget(connection)
        with self.clients.open(connection) as ebay:
            results = push_quantities(ebay, budget, m.inventory_inputs(request.items))
            return pb.PushInventoryResponse(
                results=m.item_results_to_proto(results),
                refreshed_credentials=self._refreshed(ebay, connection),
                calls=ebay.calls,
                retried=ebay.retried,
                limits=self._limits(budget, connection),
            )

    def PushPrices(
        self, request: pb.PushPricesRequest, context: grpc.ServicerContext
    ) -> pb.PushPricesResponse:
        connection = request.connection
        budget = self._budget(connection)
        with self.clients.open(connection) as ebay:
            results = push_prices(
                ebay, budget, m.price_inputs(request.items), currency=self._currency(connection)
            )
            return pb.PushPricesResponse(
                results=m.item_results_to_proto(results),
                refreshed_credentials=self._refreshed(ebay, connection),
                calls=ebay.calls,
                limits=self._limits(budget, connection),
            )

    def ReadInventory(
        self, request: pb.ReadInventoryRequest, context: grpc.ServicerContext
    ) -> pb.ReadInventoryResponse:
        connection = request.connection
        out = []
        with self.clients.open(connection) as ebay:
            for item in m.inventory_inputs(request.items):
                found = ebay.inventory_item(item.sku) if item.sku else None
                quantity = p.ship_to_quantity(found) if found is not None else None
                out.append(p.RemoteQuantity(item.sku, quantity or 0, quantity is not None))
            return pb.ReadInventoryResponse(
                quantities=m.quantities_to_proto(out), refreshed_credentials=self._refreshed(ebay, connection)
            )

    def ReadPrices(
        self, request: pb.ReadPricesRequest, context: grpc.ServicerContext
    ) -> pb.ReadPricesResponse:
        connection = request.connection
        marketplace, currency = self._marketplace(connection), self._currency(connection)
        out = []
        with self.clients.open(connection) as ebay:
            for item in m.price_inputs(request.items):
                offers = ebay.offers(item.sku, marketplace) if item.sku else []
                chosen = next((o for o in offers if o.offer_id == p.offer_id(item)), None) or p.pick_offer(
                    offers, marketplace
                )
                amount = p.read_amount(chosen.price, chosen.currency) if chosen else None
                if amount is not None and currency and amount.currency != currency:
                    amount = None
                out.append(p.RemotePrice(item.sku, amount is not None, amount))
            return pb.ReadPricesResponse(
                prices=m.remote_prices_to_proto(out), refreshed_credentials=self._refreshed(ebay, connection)
            )

    def ListRemoteProducts(
        self, request: pb.ListRemoteProductsRequest, context: grpc.ServicerContext
    ) -> pb.ListRemoteProductsResponse:
        connection = request.connection
        marketplace = self._marketplace(connection)
        offset = p.offset_cursor(request.cursor)
        most = p.MAX_CATALOG_PAGE if request.include_catalog else p.MAX_INVENTORY_PAGE
        limit = max(1, min(request.limit or most, most))
        with self.clients.open(connection) as ebay:
            if request.include_catalog:
                # Paged by inventory item (getInventoryItems), so `limit` counts SKUs, not products.
                catalog, next_cursor = ebay.catalog_page(offset, limit, marketplace)
                response = m.catalog_to_proto(catalog, next_cursor)
            else:
                items, next_cursor = ebay.inventory_items(offset, limit)
                products = [
                    p.remote_product(i, p.pick_offer(ebay.offers(str(i["sku"]), marketplace), marketplace))
                    for i in items
                ]
                response = m.products_to_proto(products, next_cursor)
            refreshed = self._refreshed(ebay, connection)
            if refreshed is not None:
                response.refreshed_credentials.CopyFrom(refreshed)
            return response

    # -- orders ------------------------------------------------------------------------------

    def FetchOrders(
        self, request: pb.FetchOrdersRequest, context: grpc.ServicerContext
    ) -> pb.FetchOrdersResponse:
        connection = request.connection
        since = timestamp_to_datetime(request.updated_since) if request.HasField("updated_since") else None
        # eBay's order filters reach back 90 days only (getOrders, CHANNELS.md 6.3).
        oldest = self._clock() - timedelta(days=p.ORDER_FILTER_DAYS)
        if since is not None and since < oldest:
            since = oldest
        offset = p.offset_cursor(request.cursor)
        limit = max(1, min(request.limit or 50, p.MAX_ORDERS_PAGE))
        with self.clients.open(connection) as ebay:
            orders, next_cursor = ebay.orders(since, offset, limit)
            response = m.orders_to_proto(orders, next_cursor, ebay.retried)
            refreshed = self._refreshed(ebay, connection)
            if refreshed is not None:
                response.refreshed_credentials.CopyFrom(refreshed)
            return response

    def CreateFulfillment(
        self, request: pb.CreateFulfillmentRequest, context: grpc.ServicerContext
    ) -> pb.CreateFulfillmentResponse:
        if not request.external_order_id:
            raise InvalidArgument("external_order_id is required")
        if not request.carrier or not request.tracking_number:
            raise InvalidArgument("eBay needs a shipping carrier code and a tracking number")
        connection = request.connection
        wanted = m.fulfillment_lines(request.lines)
        with self.clients.open(connection) as ebay:
            lines = [(w.external_line_id, int(w.quantity)) for w in wanted if w.external_line_id]
            if not wanted or len(lines) < len(wanted):
                lines = _resolve_lines(ebay.order_lines(request.external_order_id), wanted)
            body = p.fulfillment_body(
                lines,
                carrier=request.carrier,
                tracking_number=request.tracking_number,
                shipped_at=self._clock(),
            )
            fulfillment_id = ebay.create_fulfillment(request.external_order_id, body)
            return pb.CreateFulfillmentResponse(
                external_fulfillment_id=fulfillment_id,
                refreshed_credentials=self._refreshed(ebay, connection),
            )

    def CancelOrder(
        self, request: pb.CancelOrderRequest, context: grpc.ServicerContext
    ) -> pb.CancelOrderResponse:
        """A seller cancellation through the Post-Order API (protocol/cancel.py): getOrder first, so
        an order already cancelled answers at once and a shipped one is refused without a call."""
        if not request.external_order_id:
            raise InvalidArgument("external_order_id is required")
        connection = request.connection
        with self.clients.open(connection) as ebay:
            legacy_id, cancel_state, fulfillment = pc.order_state(ebay.order(request.external_order_id))
            if cancel_state == "CANCELED":
                cancel_id = ""
            elif fulfillment in pc.SHIPPED_STATES:
                raise FailedPrecondition(
                    f"eBay order {request.external_order_id} has shipped ({fulfillment}); eBay cancels "
                    "unshipped orders only: refund it as a return in Seller Hub",
                    reason=ORDER_CANCEL_REFUSED,
                )
            else:
                cancel_id = ebay.cancel(
                    pc.cancel_body(legacy_id, request.reason), self._marketplace(connection)
                )
            return pb.CancelOrderResponse(
                external_id=cancel_id or request.external_order_id,
                refreshed_credentials=self._refreshed(ebay, connection),
            )

    # -- notifications -----------------------------------------------------------------------

    def AnswerWebhookChallenge(
        self, request: pb.AnswerWebhookChallengeRequest, context: grpc.ServicerContext
    ) -> pb.AnswerWebhookChallengeResponse:
        """Marketplace account deletion endpoint check: GET ?challenge_code=… → JSON challengeResponse."""
        code = request.query.get("challenge_code", "")
        if not code or not request.endpoint_url:
            raise PermissionDenied("not an eBay endpoint challenge (no challenge_code)")
        return pb.AnswerWebhookChallengeResponse(
            content_type="application/json",
            body=p.challenge_body(code, self._settings.verification_token, request.endpoint_url),
        )

    def ParseWebhook(
        self, request: pb.ParseWebhookRequest, context: grpc.ServicerContext
    ) -> pb.ParseWebhookResponse:
        headers = lowercase_headers(request.headers)
        raw = bytes(request.raw_body)
        signature = p.parse_signature_header(headers.get(p.SIGNATURE_HEADER, ""))
        if signature is None:
            raise webhook_refused("webhook refused: missing or malformed X-EBAY-SIGNATURE")
        key = self._public_key(request.connection, signature.kid)
        if not key or not p.verify_signature(key, signature.signature, raw):
            raise webhook_refused("webhook refused: signature does not verify")
        problem = p.payload_problem(raw)
        if problem:
            raise webhook_refused(f"webhook refused: {problem}")
        return m.webhook_to_proto(p.parsed_notification(raw))

    def _public_key(self, connection: pb.ConnectionContext, kid: str) -> str:
        # Keys are eBay's per kid; cached per host too, so a sandbox's key never stands for eBay's.
        cache_key = f"{self.clients.base_url(connection)} {kid}"
        with self._lock:
            cached = self._keys.get(cache_key)
        if cached is not None:
            return cached
        with self.clients.open(connection, token="") as ebay:
            answer = ebay.public_key(kid, self._application_token(ebay))
        key = str(answer.get("key") or "")
        with self._lock:
            if len(self._keys) >= PUBLIC_KEY_CACHE_SIZE:
                self._keys.pop(next(iter(self._keys)))
            self._keys[cache_key] = key
        return key

    def _application_token(self, ebay: EbayClient) -> str:
        with self._lock:
            cached = self._app_token
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        token = ebay.application_token()
        with self._lock:
            self._app_token = (token, time.monotonic() + APP_TOKEN_SECONDS)
        return token

    # -- publishing --------------------------------------------------------------------------

    def UpsertProducts(
        self, request: pb.UpsertProductsRequest, context: grpc.ServicerContext
    ) -> pb.UpsertProductsResponse:
        """A one-variant product is one SKU listing, more variants an inventory item group
        (publishing.py); category, policies and location come from the connection's settings."""
        connection = request.connection
        products = m.product_upserts(request.products)
        if len(products) > pub.MAX_PRODUCT_BATCH:
            raise InvalidArgument(f"at most {pub.MAX_PRODUCT_BATCH} products per UpsertProducts call")
        budget = self._budget(connection)
        with self.clients.open(connection) as ebay:
            results = publishing.upsert_products(ebay, budget, products, dict(connection.settings))
            return pb.UpsertProductsResponse(
                results=m.product_results_to_proto(results),
                refreshed_credentials=self._refreshed(ebay, connection),
                calls=ebay.calls,
            )

    def ArchiveProducts(
        self, request: pb.ArchiveProductsRequest, context: grpc.ServicerContext
    ) -> pb.ArchiveProductsResponse:
        """The listing ends (withdraw); the inventory items and offers stay with their ids."""
        connection = request.connection
        refs = m.product_refs(request.products)
        if len(refs) > pub.MAX_PRODUCT_BATCH:
            raise InvalidArgument(f"at most {pub.MAX_PRODUCT_BATCH} products per ArchiveProducts call")
        with self.clients.open(connection) as ebay:
            results = publishing.archive_products(ebay, refs, dict(connection.settings))
            return pb.ArchiveProductsResponse(
                results=m.product_results_to_proto(results),
                refreshed_credentials=self._refreshed(ebay, connection),
                calls=ebay.calls,
            )


def _resolve_lines(
    order: list[tuple[str, str, int]], wanted: list[p.FulfillmentLineInput]
) -> list[tuple[str, int]]:
    """Lines to ship by eBay lineItemId: the whole order when none are named, else each named
    line by its id or, failing that, by its SKU."""
    if not wanted:
        return [(line_id, quantity) for line_id, _sku, quantity in order if line_id]
    out = []
    for w in wanted:
        match = next(
            (
                line_id
                for line_id, sku, _q in order
                if (w.external_line_id and hmac.compare_digest(line_id, w.external_line_id))
                or (not w.external_line_id and sku == w.sku)
            ),
            "",
        )
        if not match:
            raise InvalidArgument(f"no line of this eBay order matches {w.external_line_id or w.sku!r}")
        out.append((match, int(w.quantity)))
    return out
