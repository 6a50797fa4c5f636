"""TikTok Shop operations over the shared ChannelHttpClient (Partner API, version 202309).

Everything HTTP-level (bucket, retries, Retry-After, backoff) happens in
omnistock_connector_kit.channel_http; this module signs what `protocol` built, sends it, and
reads the envelope {code, message, request_id, data}: a non-zero code is an error even on HTTP 200.
- Rate limits (code 36009002 on HTTP 200, or HTTP 429) are retried by the HTTP layer
  (`throttle_delay`), then RESOURCE_EXHAUSTED with a retry delay.
- Token failures (105001/105002/36004004) raise Unauthenticated(ACCESS_TOKEN_EXPIRED) when the
  credentials carry a refresh token: as for every OAuth connector (connector_base's refresh
  design), the channels service refreshes once (single-flight, RefreshCredentials) and retries
  the call once; the connector never rotates a refresh token behind its back.

Signing: `TikTokSigner` (an httpx.Auth) runs on the request as it leaves, so the signature covers
the query and the body bytes exactly as sent (httpx serialises the JSON once; the signer reads
`request.content`), with a fresh `timestamp` on every attempt.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from omnistock_common.egress import safe_text
from omnistock_common.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    Unauthenticated,
    Unavailable,
)
from omnistock_connector_kit.channel_http import ChannelHttpClient, ChannelHttpError
from omnistock_connector_kit.clients import ChannelClient, ChannelHttpFactory
from omnistock_connector_kit.connector_base import (
    CHANNEL_REJECTED,
    CHANNEL_UNAVAILABLE,
    CREDENTIALS_REVOKED,
    RATE_LIMITED,
    ResourceExhausted,
    auth_failure,
    channel_base_url,
    check_response,
    map_channel_error,
    require_secret,
)
from tiktok_connector import protocol as p
from tiktok_connector.protocol import catalog_import as ci
from tiktok_connector.protocol import logistics as lg
from tiktok_connector.protocol import publish as pub

log = logging.getLogger(__name__)

ACCESS_TOKEN_HEADER = "x-tts-access-token"
AUTHORIZATION_CODE_REJECTED = "AUTHORIZATION_CODE_REJECTED"
ORDER_CANCEL_REFUSED = "ORDER_CANCEL_REFUSED"
NOTHING_TO_SHIP = "NOTHING_TO_SHIP"
UNKNOWN_CARRIER = "UNKNOWN_CARRIER"
# Paths that take no shop_cipher (EcomPHP src/Client.php: authorization and seller APIs).
_NO_CIPHER_PREFIXES = ("/authorization/", "/seller/")


class TikTokSigner(httpx.Auth):
    """Adds app_key, timestamp and sign to the query and the access token header, at send time."""

    requires_request_body = True

    def __init__(
        self, app_key: str, app_secret: str, access_token: str, clock: Callable[[], float] = time.time
    ) -> None:
        self.app_key, self.app_secret, self.access_token, self.clock = (
            app_key,
            app_secret,
            access_token,
            clock,
        )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        # A multipart body (image upload) is not signed and keeps its own content-type with the
        # boundary (TikTok's signing recipe appends the body only when the content-type is not
        # multipart/form-data: ShengHaozz/tiktok-alerts tiktok_connector.py generate_sign, a port
        # of the docs' sample; [M] against the docs page itself).
        multipart = request.headers.get("content-type", "").startswith("multipart/form-data")
        query = {k: v for k, v in request.url.params.items() if k != "sign"}
        query["app_key"] = self.app_key
        query["timestamp"] = str(int(self.clock()))
        body = b"" if multipart else request.content
        query["sign"] = p.sign(request.url.path, query, body, self.app_secret)
        request.url = request.url.copy_with(params=query)
        if self.access_token:
            request.headers[ACCESS_TOKEN_HEADER] = self.access_token
        if not multipart:
            request.headers["content-type"] = "application/json"
        yield request


def throttle_delay(response: httpx.Response) -> float | None:
    """The HTTP layer's hook: TikTok's rate-limit code on HTTP 200 is retried like a 429."""
    if response.status_code != 200:
        return None
    try:
        code, _, _ = p.envelope(response.json())
    except ValueError:
        return None
    return 1.0 if p.is_rate_limited(code) else None


class TikTokClient(ChannelClient):
    """One connection's TikTok operations; `http` is signed (API host) or plain (token host)."""

    def __init__(
        self,
        http: ChannelHttpClient,
        *,
        refreshable: bool,
        shop_cipher: str,
        fetch: Callable[[str], httpx.Response] | None = None,
    ) -> None:
        self.http = http
        self.refreshable = refreshable
        self.shop_cipher = shop_cipher
        # GET of an image URL on its own host: unsigned, no TikTok token (ClientFactory.open).
        self._fetch = fetch
        # Logistics answers, read at most once per RPC (the client lives for one call).
        self._warehouses: Any = None
        self._providers: dict[str, list[lg.Provider]] = {}

    # -- envelope ---------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        *,
        what: str,
        query: Mapping[str, str] | None = None,
        body: Any = None,
        files: Any = None,
        form: Mapping[str, str] | None = None,
        idempotent: bool = True,
    ) -> Any:
        """Send one API call (JSON `body`, or a multipart `files` + `form`); return `data` or raise
        the contract's error."""
        params = dict(query or {})
        if not path.startswith(_NO_CIPHER_PREFIXES):
            if not self.shop_cipher:
                raise FailedPrecondition(
                    "the connection has no shop_cipher; reconnect the shop", reason=CHANNEL_REJECTED
                )
            params["shop_cipher"] = self.shop_cipher
        try:
            response = self.http.request(
                method,
                path,
                params=params,
                json=body if method != "GET" and files is None else None,
                files=files,
                data=dict(form) if form else None,
                idempotent=idempotent,
            )
        except ChannelHttpError as error:
            raise self._exhausted(error, what) from error
        return self._data(response, what)

    @staticmethod
    def _exhausted(error: ChannelHttpError, what: str) -> Exception:
        if error.status == 200:  # still the rate-limit code after every retry (throttle_delay)
            return ResourceExhausted(
                f"{what}: TikTok rate limit", reason=RATE_LIMITED, retry_after=error.retry_after or 1.0
            )
        return map_channel_error(error)

    def _data(self, response: httpx.Response, what: str) -> Any:
        try:
            body = response.json()
        except ValueError:
            body = None
        code, message, data = p.envelope(body)
        if code == p.SUCCESS and response.status_code < 400:
            return data if data is not None else {}
        text = safe_text(message, 300)
        if p.is_token_failure(code, message) or response.status_code == 401:
            raise auth_failure(
                f"{what}: TikTok rejected the access token ({code})", refreshable=self.refreshable
            )
        if code in p.PERMISSION_CODES:
            raise Unauthenticated(
                f"{what}: TikTok denied access ({code}: {text})", reason=CREDENTIALS_REVOKED
            )
        if p.is_rate_limited(code) or response.status_code == 429:
            raise ResourceExhausted(f"{what}: TikTok rate limit", reason=RATE_LIMITED, retry_after=1.0)
        if code in p.SERVER_CODES or response.status_code >= 500:
            raise Unavailable(
                f"{what}: TikTok error {code} (HTTP {response.status_code})", reason=CHANNEL_UNAVAILABLE
            )
        if code == -1:
            check_response(response, refreshable=self.refreshable, what=what)
            raise FailedPrecondition(f"{what}: TikTok answered without an envelope", reason=CHANNEL_REJECTED)
        raise FailedPrecondition(
            f"{what}: TikTok refused the request ({code}: {text})", reason=CHANNEL_REJECTED
        )

    # -- OAuth (token host: no signature, no shop) -----------------------------------------

    def token(self, path: str, query: Mapping[str, str], *, refresh: bool, now: float) -> p.TokenGrant:
        try:
            response = self.http.request("GET", path, params=dict(query))
        except ChannelHttpError as error:
            raise self._exhausted(error, "token endpoint") from error
        body: Any
        try:
            body = response.json()
        except ValueError:
            body = None
        code, message, data = p.envelope(body)
        if code != p.SUCCESS or response.status_code >= 400:
            if p.is_rate_limited(code) or response.status_code == 429:
                raise ResourceExhausted(
                    "TikTok token endpoint rate limit", reason=RATE_LIMITED, retry_after=1.0
                )
            if code in p.SERVER_CODES or response.status_code >= 500:
                raise Unavailable(f"TikTok token endpoint error {code}", reason=CHANNEL_UNAVAILABLE)
            if refresh:
                raise Unauthenticated(
                    f"TikTok refused the refresh token ({code}: {safe_text(message, 200)}); re-authorize the shop",
                    reason=CREDENTIALS_REVOKED,
                )
            raise FailedPrecondition(
                f"TikTok refused the authorization code ({code}: {safe_text(message, 200)})",
                reason=AUTHORIZATION_CODE_REJECTED,
            )
        try:
            return p.grant_from_token_data(data, now)
        except ValueError as exc:
            raise FailedPrecondition(f"token endpoint: {exc}", reason=CHANNEL_REJECTED) from None

    def shops(self) -> list[p.ShopInfo]:
        return p.shops_from_data(self.call("GET", p.SHOPS_PATH, what="authorized shops"))

    # -- inventory and prices -----------------------------------------------------------------

    def push_inventory(self, items: Sequence[p.InventoryInput]) -> list[p.ItemResult]:
        refused, by_product = p.group_inventory(items)
        results: dict[int, p.ItemResult] = {
            i: p.ItemResult(items[i].sku, p.Outcome.REJECTED, why) for i, why in refused.items()
        }
        calls = [(pid, p.inventory_update_path(pid), p.inventory_body(e), e) for pid, e in by_product.items()]
        self._push(calls, items, results, "inventory update")
        return [results[i] for i in range(len(items))]

    def push_prices(self, items: Sequence[p.PriceInput], *, shop_currency: str) -> list[p.ItemResult]:
        refused, by_product = p.group_prices(items, shop_currency)
        results: dict[int, p.ItemResult] = {
            i: p.ItemResult(items[i].sku, p.Outcome.REJECTED, why) for i, why in refused.items()
        }
        calls = [(pid, p.prices_update_path(pid), p.prices_body(e), e) for pid, e in by_product.items()]
        self._push(calls, items, results, "price update")
        return [results[i] for i in range(len(items))]

    def _push(
        self,
        calls: Sequence[tuple[str, str, dict[str, Any], Sequence[Any]]],
        items: Sequence[Any],
        results: dict[int, p.ItemResult],
        what: str,
    ) -> None:
        """One call per product. A transient failure before anything applied is raised (the
        caller gets RESOURCE_EXHAUSTED/UNAVAILABLE); after that, the rest are RETRY. A product
        TikTok refuses as a whole (unknown product) rejects its items and the others still go."""
        applied_any = False
        for position, (product_id, path, body, entries) in enumerate(calls):
            try:
                data = self.call("POST", path, body=body, what=f"{what} of product {product_id}")
            except (ResourceExhausted, Unavailable) as error:
                if not applied_any:
                    raise
                for _, _, _, rest in calls[position:]:
                    for entry in rest:
                        results[entry.index] = p.ItemResult(
                            items[entry.index].sku, p.Outcome.RETRY, str(error)
                        )
                return
            except FailedPrecondition as error:
                for entry in entries:
                    results[entry.index] = p.ItemResult(
                        items[entry.index].sku, p.Outcome.REJECTED, str(error)
                    )
                continue
            by_sku, general = p.sku_errors(data)
            for entry in entries:
                outcome, message = p.outcome_of(entry.sku_id, by_sku, general)
                results[entry.index] = p.ItemResult(items[entry.index].sku, outcome, message)
                applied_any = applied_any or outcome is p.Outcome.APPLIED

    def product(self, product_id: str) -> Any:
        """Product detail, or None when TikTok does not know it (stale mapping)."""
        try:
            return self.call("GET", p.product_path(product_id), what=f"product {product_id}")
        except FailedPrecondition:
            return None

    def _products_of(self, items: Sequence[Any]) -> dict[str, Any]:
        wanted = {p.remote_ids(item.ids)[0] for item in items} - {""}
        return {pid: self.product(pid) for pid in sorted(wanted)}

    def read_inventory(self, items: Sequence[p.InventoryInput]) -> list[p.RemoteQuantity]:
        products = self._products_of(items)
        return [p.read_quantity(item, products.get(p.remote_ids(item.ids)[0])) for item in items]

    def read_prices(self, items: Sequence[p.PriceInput], *, shop_currency: str) -> list[p.RemotePrice]:
        products = self._products_of(items)
        return [p.read_price(item, products.get(p.remote_ids(item.ids)[0]), shop_currency) for item in items]

    def list_products(self, *, cursor: str, limit: int) -> tuple[list[p.RemoteProductData], str]:
        page_size = max(1, min(limit or p.MAX_PRODUCTS_PAGE, p.MAX_PRODUCTS_PAGE))
        query = {"page_size": str(page_size)}
        if cursor:
            query["page_token"] = cursor
        data = self.call("POST", p.PRODUCTS_SEARCH_PATH, query=query, body={}, what="products search")
        data = data if isinstance(data, Mapping) else {}
        return p.remote_products(data.get("products")), str(data.get("next_page_token") or "")

    def list_catalog(self, *, cursor: str, limit: int) -> tuple[list[ci.CatalogProductData], str]:
        """A page of Search Products, each product read in full with Get Product (search answers
        no description, images or sales attributes); a product gone in between is skipped."""
        page_size = max(1, min(limit or ci.MAX_CATALOG_PAGE, ci.MAX_CATALOG_PAGE))
        query = {"page_size": str(page_size)}
        if cursor:
            query["page_token"] = cursor
        data = self.call("POST", p.PRODUCTS_SEARCH_PATH, query=query, body={}, what="products search")
        ids, next_token = ci.page_product_ids(data)
        products = [ci.catalog_product(self.product(product_id)) for product_id in ids]
        return [product for product in products if product is not None], next_token

    # -- publishing ---------------------------------------------------------------------------

    def create_product(self, body: Mapping[str, Any], what: str) -> str:
        """Create Product; returns TikTok's product id (not retried: a retry could create twice)."""
        data = self.call("POST", p.PRODUCTS_PATH, body=dict(body), what=what, idempotent=False)
        product_id = p.clean_id(data.get("product_id"), 64) if isinstance(data, Mapping) else ""
        if not product_id:
            raise Unavailable(f"{what}: TikTok answered without a product_id", reason=CHANNEL_UNAVAILABLE)
        return product_id

    def upload_image(self, url: str) -> str:
        """Fetch one of the product's images and upload it as a MAIN_IMAGE; returns its URI. An
        image that cannot be read is FAILED_PRECONDITION naming it (the product is refused)."""
        shown = safe_text(url, 200)
        if self._fetch is None or not url.startswith(("https://", "http://")):
            raise FailedPrecondition(f"image {shown} is not an http(s) URL", reason=CHANNEL_REJECTED)
        try:
            response = self._fetch(url)
        except ChannelHttpError as error:
            raise FailedPrecondition(
                f"image {shown} could not be read ({safe_text(str(error), 100)})", reason=CHANNEL_REJECTED
            ) from None
        if response.status_code != 200 or not response.content:
            raise FailedPrecondition(
                f"image {shown} could not be read (HTTP {response.status_code})", reason=CHANNEL_REJECTED
            )
        name = url.rsplit("/", 1)[-1].split("?", 1)[0] or "image"
        kind = response.headers.get("content-type", "application/octet-stream").split(";", 1)[0]
        data = self.call(
            "POST",
            p.IMAGES_UPLOAD_PATH,
            files={"data": (name, response.content, kind)},
            form={"use_case": pub.MAIN_IMAGE},
            what=f"upload of image {shown}",
        )
        uri = pub.uploaded_uri(data)
        if not uri:
            raise Unavailable(
                f"upload of image {shown}: TikTok answered without a uri", reason=CHANNEL_UNAVAILABLE
            )
        return uri

    def edit_product(self, product_id: str, body: Mapping[str, Any], what: str) -> None:
        self.call("POST", p.partial_edit_path(product_id), body=dict(body), what=what)

    def deactivate(self, product_ids: Sequence[str]) -> Any:
        return self.call(
            "POST", p.DEACTIVATE_PATH, body={"product_ids": list(product_ids)}, what="deactivate products"
        )

    def activate(self, product_ids: Sequence[str]) -> Any:
        return self.call(
            "POST", p.ACTIVATE_PATH, body={"product_ids": list(product_ids)}, what="activate products"
        )

    # -- logistics ----------------------------------------------------------------------------

    def default_warehouse(self) -> str:
        """The shop's default sales warehouse (Get Warehouse List, read once per RPC)."""
        if self._warehouses is None:
            self._warehouses = self.call("GET", p.WAREHOUSES_PATH, what="warehouses")
        return lg.default_warehouse(self._warehouses)

    def providers(self, delivery_option_id: str) -> list[lg.Provider]:
        if delivery_option_id not in self._providers:
            data = self.call(
                "GET",
                p.shipping_providers_path(delivery_option_id),
                what=f"shipping providers of delivery option {delivery_option_id}",
            )
            self._providers[delivery_option_id] = lg.providers(data)
        return self._providers[delivery_option_id]

    def provider_for(self, carrier: str, order: Mapping[str, Any], warehouse_id: str) -> str:
        """The shipping_provider_id named `carrier` among the providers of the order's delivery
        option (else of the warehouse's delivery options); INVALID_ARGUMENT naming the available
        providers when none is called that."""
        option = p.clean_id(order.get("delivery_option_id"), 64)
        if option:
            options = [option]
        else:
            warehouse = warehouse_id or self.default_warehouse()
            options = (
                lg.delivery_option_ids(
                    self.call("GET", p.delivery_options_path(warehouse), what="warehouse delivery options")
                )
                if warehouse
                else []
            )
        available = [provider for o in options for provider in self.providers(o)]
        provider_id = lg.match_provider(carrier, available)
        if not provider_id:
            raise InvalidArgument(
                lg.unknown_carrier(carrier, available),
                violations=[FieldViolation("carrier", "no TikTok shipping provider has this name")],
                reason=UNKNOWN_CARRIER,
            )
        return provider_id

    # -- orders ------------------------------------------------------------------------------

    def fetch_orders(self, *, body: dict[str, Any], cursor: str, limit: int) -> tuple[list[p.OrderData], str]:
        data = self.call(
            "POST", p.ORDERS_SEARCH_PATH, query=p.search_query(limit, cursor), body=body, what="orders search"
        )
        return p.orders_from_data(data)

    def order_json(self, order_id: str) -> Mapping[str, Any]:
        data = self.call("GET", p.ORDERS_DETAIL_PATH, query={"ids": order_id}, what=f"order {order_id}")
        orders = data.get("orders") if isinstance(data, Mapping) else None
        for order in orders if isinstance(orders, list) else []:
            if isinstance(order, Mapping) and str(order.get("id")) == order_id:
                return order
        raise NotFound(f"TikTok has no order {order_id}")

    def order(self, order_id: str) -> p.OrderData:
        return p.order_from_json(self.order_json(order_id))

    def ship(
        self,
        order_id: str,
        wanted: Mapping[str, int] | None,
        *,
        tracking_number: str,
        provider_id: str,
        carrier: str = "",
        warehouse_id: str = "",
    ) -> str:
        """Mark Package As Shipped for the order's unit line items still to ship; returns the
        package id. A package already carrying this tracking number is returned, not repeated.
        Without a `provider_id` the provider is looked up by the carrier's name (provider_for)."""
        order = self.order_json(order_id)
        for package in order.get("packages") or []:
            if (
                isinstance(package, Mapping)
                and tracking_number
                and package.get("tracking_number") == tracking_number
            ):
                return str(package.get("id") or "")
        provider_id = provider_id or self.provider_for(carrier, order, warehouse_id)
        status = str(order.get("status") or "")
        if status not in p.SHIPPABLE_STATUSES:
            raise FailedPrecondition(
                f"order {order_id} cannot be shipped in status {status}", reason=NOTHING_TO_SHIP
            )
        line_ids = p.unit_line_ids(order, wanted)
        if not line_ids:
            raise FailedPrecondition(f"order {order_id} has nothing left to ship", reason=NOTHING_TO_SHIP)
        data = self.call(
            "POST",
            p.ship_order_path(order_id),
            body={
                "tracking_number": tracking_number,
                "shipping_provider_id": provider_id,
                "order_line_item_ids": line_ids,
            },
            what=f"ship order {order_id}",
            idempotent=False,
        )
        package_id = str((data or {}).get("package_id") or "") if isinstance(data, Mapping) else ""
        return package_id or order_id

    def cancel(self, order_id: str, reason: str) -> str:
        """POST /return_refund/202309/cancellations; returns the cancellation id."""
        order = self.order_json(order_id)
        if str(order.get("status") or "") == "CANCELLED":
            return order_id
        try:
            data = self.call(
                "POST",
                p.CANCELLATIONS_PATH,
                body={"order_id": order_id, "cancel_reason": reason},
                what=f"cancel order {order_id}",
                idempotent=False,
            )
        except FailedPrecondition as error:
            raise FailedPrecondition(str(error), reason=ORDER_CANCEL_REFUSED) from None
        return str((data or {}).get("cancel_id") or order_id) if isinstance(data, Mapping) else order_id


@dataclass(frozen=True)
class ClientFactory:
    """Builds the TikTokClient of one RPC: the API host (signed, with the shop's cipher) or the
    token host; a connection's api_base_url moves scheme, host and port of every one."""

    http: ChannelHttpFactory
    app_key: str
    app_secret: str

    def base_url(self, connection: Any, derived: str = p.API_BASE_URL) -> str:
        return channel_base_url(connection, derived, self.http.egress, identity="api_base_url")

    @contextmanager
    def open(self, connection: Any, *, token: str | None = None) -> Iterator[TikTokClient]:
        """A signed client on the API host; `token` overrides the connection's access token
        (ExchangeCode uses the fresh one)."""
        access_token = require_secret(connection, "access_token") if token is None else token
        signer = TikTokSigner(self.app_key, self.app_secret, access_token)
        refreshable = bool(connection.credentials.secrets.get("refresh_token"))
        cipher = p.clean_id(connection.settings.get("shop_cipher", ""))
        with ExitStack() as stack:
            http = stack.enter_context(self.http.open(connection, self.base_url(connection), auth=signer))
            plain: list[ChannelHttpClient] = []

            def fetch(url: str) -> httpx.Response:
                """Images come from the merchant's host: a client of its own, never signed (the
                TikTok token must not travel there), egress-guarded, the connection's bucket."""
                if not plain:
                    plain.append(stack.enter_context(self.http.open(connection, url)))
                return plain[0].request("GET", url)

            yield TikTokClient(http, refreshable=refreshable, shop_cipher=cipher, fetch=fetch)

    @contextmanager
    def open_auth(self, connection: Any) -> Iterator[TikTokClient]:
        """A plain client on the token host (app credentials travel in its query)."""
        with self.http.open(connection, self.base_url(connection, p.AUTH_BASE_URL)) as http:
            yield TikTokClient(http, refreshable=False, shop_cipher="")
