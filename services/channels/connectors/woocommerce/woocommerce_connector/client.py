"""WooCommerce REST API (wc/v3) operations over the shared ChannelHttpClient.

One `WooCommerceClient` serves one RPC for one connection: it sends what the protocol package planned
and hands the answers back to it. Rate limiting, retries (429/5xx with backoff + Retry-After)
and call records are the shared client's job; this module decides what a WooCommerce answer means
for the RPC (which status is whose fault, which items to report as applied/retry/rejected).

Auth: HTTP Basic with consumer key/secret (CHANNELS.md 2.1), which Woo accepts over HTTPS only;
over plain HTTP (an allowed test store or sandbox) every request is signed with OAuth 1.0a
one-legged instead, as WooCommerce requires there (protocol/oauth1.py). Woo keys never expire, so a 401 means the keys are wrong or revoked: the contract's
UNAUTHENTICATED with reason CREDENTIALS_REVOKED, never ACCESS_TOKEN_EXPIRED.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlparse

import httpx

from omnistock_common.egress import safe_code, safe_text
from omnistock_common.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    Unauthenticated,
)
from omnistock_connector_kit.channel_http import ChannelHttpClient, ChannelHttpError
from omnistock_connector_kit.clients import ChannelClient, ChannelHttpFactory
from omnistock_connector_kit.connector_base import (
    CHANNEL_REJECTED,
    CREDENTIALS_REVOKED,
    channel_base_url,
    check_response,
    host_not_allowed,
    map_channel_error,
    require_secret,
)
from woocommerce_connector import protocol as p
from woocommerce_connector.protocol import oauth1

log = logging.getLogger(__name__)

# Variation pages read per variable product (x 100 = 10,000 variations; Woo's own UI caps far
# lower): a store that keeps answering "more" must not hold a worker or its memory forever.
MAX_VARIATION_PAGES = 100


@dataclass(frozen=True)
class InventoryRequestItem:
    sku: str
    quantity: int
    ids: Mapping[str, str]


@dataclass(frozen=True)
class ReadResult:
    sku: str
    quantity: int
    found: bool


@dataclass(frozen=True)
class FetchResult:
    orders: list[p.OrderData]
    next_cursor: str


@dataclass(frozen=True)
class ProductsPage:
    products: list[p.RemoteProductData]
    next_cursor: str


@dataclass(frozen=True)
class CatalogPage:
    products: list[p.CatalogProductData]
    next_cursor: str


def store_label(connection: Any) -> str:
    """How errors name the store: its URL if the connection has one, else the API host."""
    store = connection.settings.get("store_url", "") or connection.settings.get("api_base_url", "")
    return urlparse(store).netloc or store or "the WooCommerce store"


def wp_index_url(api_base_url: str) -> str:
    """The WP REST index (`https://store/wp-json/`) for a `.../wp-json/wc/v3` base, else ""."""
    base = api_base_url.rstrip("/")
    suffix = "/" + p.API_VERSION
    return base[: -len(suffix)] + "/" if base.endswith(suffix) else ""


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


class WooCommerceClient(ChannelClient):
    """The WooCommerce operations of the connector, for one connection and one RPC."""

    def __init__(self, connection: Any, http: ChannelHttpClient, base_url: str = "") -> None:
        self._connection = connection
        self.http = http
        self._base_url = base_url or str(http.base_url)
        self.store = store_label(connection)

    # ---- plumbing ----------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        what: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotent: bool = True,
    ) -> httpx.Response:
        """One request whose failure fails the whole RPC with the contract's status."""
        try:
            response = self.http.request(method, path, json=json, params=params, idempotent=idempotent)
        except ChannelHttpError as error:
            raise map_channel_error(error) from error
        self._raise_for_status(response, what)
        return response

    def _raise_for_status(self, response: httpx.Response, what: str) -> None:
        status = response.status_code
        if status < 400:
            return
        detail = f"HTTP {status}"
        code = p.error_message(_json(response), "")
        if code:
            detail = f"HTTP {status}, {code}"
        if status in (401, 403):
            # Woo answers 401 for unknown keys and for read-only keys on a write; either way the
            # merchant has to issue new keys, so the connection needs re-authorization.
            raise Unauthenticated(
                f"WooCommerce store {self.store} rejected the API keys during {what} ({detail})",
                reason=CREDENTIALS_REVOKED,
            )
        if status == 404:
            raise NotFound(f"{what}: not found on WooCommerce store {self.store} ({detail})")
        if 400 <= status < 500 and status != 429:
            raise FailedPrecondition(
                f"{what}: WooCommerce store {self.store} refused the request ({detail})",
                reason=CHANNEL_REJECTED,
            )
        check_response(response, refreshable=False, what=f"{what} on {self.store}")

    # For publishing.py (the same plumbing; publishing is its own module, by job).
    def read_list(self, path: str, params: Mapping[str, Any], what: str) -> list[Mapping[str, Any]]:
        return self._list(path, params, what)

    def post(self, path: str, body: Any, *, idempotent: bool) -> httpx.Response:
        """One POST whose answer is the caller's to read; ChannelHttpError when retries ran out."""
        return self.http.request("POST", path, json=body, idempotent=idempotent)

    def raise_for_status(self, response: httpx.Response, what: str) -> None:
        self._raise_for_status(response, what)

    # ---- credentials -------------------------------------------------------------------------

    def validate(self) -> str:
        """Prove the keys work and return the store's name for the UI.

        The proof is the cheapest authenticated GET there is (one product id; system_status
        would work too but makes the store compute its whole health report). The name comes from
        the public WP REST index (`/wp-json/`, beside `wc/v3`); it is best effort, because a
        store can hide its index and the keys are what is being validated.
        """
        self._send("GET", "products", "credential check", params={"per_page": 1, "_fields": "id"})
        index_url = wp_index_url(self._base_url)
        if index_url:
            try:
                response = self.http.request("GET", index_url, params={"_fields": "name"})
            except ChannelHttpError:
                return self.store
            payload = _json(response) if response.status_code == 200 else None
            # The store's own title becomes the connection name: cleaned and bounded.
            name = safe_text(payload.get("name"), 100) if isinstance(payload, Mapping) else ""
            if isinstance(payload, Mapping) and isinstance(payload.get("name"), str) and name:
                return name
        return self.store

    def store_currency(self) -> str:
        """The store's currency (ISO 4217), "" when the store does not say.

        WooCommerce keeps it in the general settings, option `woocommerce_currency`; the REST API
        reads one option as GET settings/general/woocommerce_currency, its `value`
        (https://developer.woocommerce.com/docs/apis/rest-api/v3/setting-options/), in
        one GET (system_status also carries it, but makes the store compute its whole health
        report). A refused or failed read raises like any other call; ValidateCredentials treats
        it as best effort.
        """
        payload = _json(
            self._send("GET", "settings/general/woocommerce_currency", "reading the store currency")
        )
        value = safe_code(payload.get("value")) if isinstance(payload, Mapping) else ""
        return value.upper() if len(value) == 3 and value.isalpha() else ""

    # ---- batches (inventory, prices) ---------------------------------------------------------

    def run_batches(self, plan: p.BatchPlan) -> list[p.ItemOutcome]:
        """Send the planned batch calls; one outcome per planned item.

        Setting an absolute quantity or price is idempotent, so the shared client may retry a
        batch on 5xx. When a batch still fails after retries:
        - if nothing has been applied yet, the RPC fails as RESOURCE_EXHAUSTED/UNAVAILABLE (the
          caller gets RetryInfo and keeps everything pending);
        - otherwise the items already applied are reported APPLIED and this batch and every later
          one RETRY, so acknowledged work is not redone and the store is not hammered further.
        A batch the store refuses as a whole (400, unknown parent 404) rejects just its items.
        """
        outcomes: list[p.ItemOutcome] = list(plan.rejected)
        applied_any = False
        for index, call in enumerate(plan.calls):
            try:
                response = self.http.request("POST", call.path, json=call.body)
            except ChannelHttpError as error:
                if not applied_any:
                    raise map_channel_error(error) from error
                reason = f"WooCommerce unavailable or rate limited: {error.message}"
                for pending in plan.calls[index:]:
                    outcomes.extend(p.ItemOutcome(sku, p.Outcome.RETRY, reason) for sku in pending.skus)
                break
            status = response.status_code
            if status in (400, 404, 409, 413, 422):
                detail = p.error_message(_json(response), f"HTTP {status}")
                outcomes.extend(p.ItemOutcome(sku, p.Outcome.REJECTED, detail) for sku in call.skus)
                continue
            self._raise_for_status(response, f"POST {call.path}")
            results = p.parse_batch_response(call, _json(response))
            applied_any = applied_any or any(r.outcome is p.Outcome.APPLIED for r in results)
            outcomes.extend(results)
        return outcomes

    # ---- orders ------------------------------------------------------------------------------

    def fetch_orders(self, updated_since: datetime | None, cursor: str, limit: int) -> FetchResult:
        """One page of orders modified after `updated_since`, oldest modification first."""
        if cursor:
            try:
                position = p.decode_orders_cursor(cursor)
            except p.ProtocolError as exc:
                raise InvalidArgument(str(exc), violations=[FieldViolation("cursor", str(exc))]) from None
        else:
            since = updated_since or datetime(1970, 1, 1, tzinfo=UTC)
            position = p.OrdersCursor(since, 1, p.page_size(limit))
        response = self._send("GET", "orders", "listing orders", params=p.orders_query(position))
        payload = _json(response)
        raw_orders = payload if isinstance(payload, list) else []
        orders = [p.parse_order(o) for o in raw_orders if isinstance(o, Mapping)]
        following = p.next_orders_cursor(position, p.total_pages(response.headers), orders)
        return FetchResult(orders, p.encode_orders_cursor(following) if following else "")

    def create_fulfillment(
        self, order_id: str, carrier: str, tracking_number: str, tracking_url: str, lines: Sequence[Any]
    ) -> str:
        """Record a shipment: a Shipment Tracking item, a customer note, then status `completed`.

        Woo core has no tracking or partial shipment (CHANNELS.md 2.3). The tracking number goes to
        the Shipment Tracking extension when the store has it (its item shows in the customer's
        account and e-mails), and always into a customer note, which core shows everywhere. The
        note goes before completing so the customer's "order completed" e-mail follows the
        tracking details. When only some lines ship, the order is not completed (that would tell
        the customer everything shipped); the note records what did. A retry after an attempt whose
        answer was lost finds its tracking item and note and does not add them twice.
        """
        order_path = f"orders/{_order_id(order_id)}"
        whole = True
        shipped_labels: list[str] = []
        if lines:
            order = _json(self._send("GET", order_path, f"reading order {order_id}"))
            shipped: dict[str, int] = {}
            for line in lines:
                if line.external_line_id:
                    key = f"id:{line.external_line_id}"
                    shipped[key] = shipped.get(key, 0) + int(line.quantity)
                if line.sku:
                    key = f"sku:{line.sku}"
                    shipped[key] = shipped.get(key, 0) + int(line.quantity)
                shipped_labels.append(f"{line.sku or line.external_line_id} x{line.quantity}")
            whole = p.covers_whole_order(order if isinstance(order, Mapping) else {}, shipped)
        tracking_id = (
            self._add_tracking(order_id, carrier, tracking_number, tracking_url) if tracking_number else ""
        )
        note = p.fulfillment_note(carrier, tracking_number, tracking_url, [] if whole else shipped_labels)
        notes = _json(self._send("GET", f"{order_path}/notes", f"reading the notes of order {order_id}"))
        note_id = (
            next(
                (n.get("id") for n in notes if isinstance(n, Mapping) and n.get("note") == note),
                None,
            )
            if isinstance(notes, list)
            else None
        )
        if note_id is None:
            created = _json(
                self._send(
                    "POST",
                    f"{order_path}/notes",
                    f"adding the shipment note to order {order_id}",
                    json={"note": note, "customer_note": True},
                    idempotent=False,
                )
            )
            note_id = created.get("id") if isinstance(created, Mapping) else None
        if whole:
            self._send(
                "PUT",
                order_path,
                f"completing order {order_id}",
                json={"status": "completed"},
                idempotent=True,
            )
        if tracking_id:
            return f"tracking:{tracking_id}"
        return f"note:{note_id}" if note_id is not None else f"order:{order_id}"

    def _add_tracking(self, order_id: str, carrier: str, tracking_number: str, tracking_url: str) -> str:
        """The Shipment Tracking item's id; "" when the store does not run the extension (its
        namespace answers 404 `rest_no_route`) or the connection turned it off (setting
        `shipment_tracking` = "off")."""
        if self._connection.settings.get("shipment_tracking", "").strip().lower() == "off":
            return ""
        index = wp_index_url(self._base_url)
        if not index:
            return ""
        url = index + p.SHIPMENT_TRACKING_PATH.format(order_id=_order_id(order_id))
        try:
            listed = self._send("GET", url, f"reading the tracking of order {order_id}")
        except NotFound:
            return ""
        earlier = p.existing_tracking_id(_json(listed), tracking_number)
        if earlier:
            return earlier
        body = p.tracking_item_body(
            carrier, tracking_number, tracking_url, datetime.now(UTC).date().isoformat()
        )
        created = _json(
            self._send("POST", url, f"adding tracking to order {order_id}", json=body, idempotent=False)
        )
        return str(created.get("tracking_id") or "") if isinstance(created, Mapping) else ""

    def cancel_order(self, order_id: str) -> str:
        """`PUT orders/<id>` with status `cancelled` (setting a status is idempotent, so the shared
        client may retry it). Returns the order id. Woo restores the order's stock itself when it
        cancels; OmniStock's next push overwrites the channel's figure anyway."""
        order_path = f"orders/{_order_id(order_id)}"
        payload = _json(
            self._send("PUT", order_path, f"cancelling order {order_id}", json={"status": "cancelled"})
        )
        status = str(payload.get("status") or "") if isinstance(payload, Mapping) else ""
        if status != "cancelled":
            raise FailedPrecondition(
                f"WooCommerce store {self.store} did not cancel order {order_id} (status {status or 'unknown'})",
                reason=CHANNEL_REJECTED,
            )
        return str(_order_id(order_id))

    # ---- read-back and catalogue -------------------------------------------------------------

    def read_inventory(self, items: Sequence[tuple[str, Mapping[str, str]]]) -> list[ReadResult]:
        """Current quantities of mapped items; found=False for ids the store no longer has."""
        return [
            ReadResult(sku, p.stock_of(found) if found is not None else 0, found is not None)
            for sku, found in self._read_mapped(items, "stock")
        ]

    def read_prices(self, items: Sequence[p.PriceInput], store_currency: str) -> list[p.RemotePrice]:
        """Current prices of mapped items (reconciliation), read in the store's currency (else the
        currency OmniStock expects); found=False for ids the store no longer has."""
        by_sku = {item.sku: item for item in items}
        results = []
        for sku, found in self._read_mapped([(i.sku, i.ids) for i in items], "prices"):
            currency = store_currency or by_sku[sku].currency
            price, compare = p.prices_of(found, currency) if found is not None else (None, None)
            results.append(p.RemotePrice(sku, price is not None, price, compare))
        return results

    def _read_mapped(
        self, items: Sequence[tuple[str, Mapping[str, str]]], what: str
    ) -> list[tuple[str, Mapping[str, Any] | None]]:
        """(sku, the product or variation the store has under its ids, or None), in item order:
        products and variations read in bulk by `include`."""
        simple, variations, _unmapped = p.group_for_read(items)
        seen: dict[tuple[int, int | None], Mapping[str, Any]] = {}
        for chunk in p.id_chunks(simple):
            params = {"include": ",".join(map(str, chunk)), "per_page": p.MAX_PER_PAGE}
            for product in self._list("products", params, f"reading product {what}"):
                seen[(int(product["id"]), None)] = product
        for parent, by_variation in variations.items():
            for chunk in p.id_chunks(by_variation):
                params = {"include": ",".join(map(str, chunk)), "per_page": p.MAX_PER_PAGE}
                try:
                    found = self._list(f"products/{parent}/variations", params, f"reading variation {what}")
                except NotFound:
                    # The parent product is gone: every mapped variation under it is stale.
                    break
                for variation in found:
                    seen[(parent, int(variation["id"]))] = variation
        results: list[tuple[str, Mapping[str, Any] | None]] = []
        for sku, ids in items:
            try:
                target = p.parse_target(ids)
            except p.ProtocolError:
                results.append((sku, None))
                continue
            results.append((sku, seen.get((target.product_id, target.variation_id))))
        return results

    def _list(self, path: str, params: Mapping[str, Any], what: str) -> list[Mapping[str, Any]]:
        payload = _json(self._send("GET", path, what, params=params))
        return (
            [r for r in payload if isinstance(r, Mapping) and "id" in r] if isinstance(payload, list) else []
        )

    def list_products(self, cursor: str, limit: int) -> ProductsPage:
        """One page of products (ordered by id, so new products land on later pages), with the
        variations of every variable product on it: SKU + {product_id, variation_id?}."""
        if cursor:
            try:
                position = p.decode_products_cursor(cursor)
            except p.ProtocolError as exc:
                raise InvalidArgument(str(exc), violations=[FieldViolation("cursor", str(exc))]) from None
        else:
            position = p.ProductsCursor(1, p.page_size(limit))
        params = {"per_page": position.per_page, "page": position.page, "orderby": "id", "order": "asc"}
        response = self._send("GET", "products", "listing products", params=params)
        payload = _json(response)
        products: list[p.RemoteProductData] = []
        for product in payload if isinstance(payload, list) else []:
            if not isinstance(product, Mapping) or "id" not in product:
                continue
            if p.is_variable(product):
                products.extend(p.variation_remote_product(product, v) for v in self._variations(product))
            else:
                products.append(p.simple_remote_product(product))
        more = position.page < p.total_pages(response.headers)
        following = p.ProductsCursor(position.page + 1, position.per_page) if more else None
        return ProductsPage(products, p.encode_products_cursor(following) if following else "")

    def list_catalog(self, cursor: str, limit: int, currency: str, weight_unit: str = "kg") -> CatalogPage:
        """One page of whole products (the onboarding import): GET products ordered by id, and
        GET products/{id}/variations for every variable product on the page."""
        if cursor:
            try:
                position = p.decode_products_cursor(cursor)
            except p.ProtocolError as exc:
                raise InvalidArgument(str(exc), violations=[FieldViolation("cursor", str(exc))]) from None
        else:
            position = p.ProductsCursor(1, p.page_size(limit))
        params = {"per_page": position.per_page, "page": position.page, "orderby": "id", "order": "asc"}
        response = self._send("GET", "products", "listing products", params=params)
        payload = _json(response)
        products = [
            p.catalog_product(
                product, self._variations(product) if p.is_variable(product) else (), currency, weight_unit
            )
            for product in (payload if isinstance(payload, list) else [])
            if isinstance(product, Mapping) and "id" in product and product.get("type") != "variation"
        ]
        more = position.page < p.total_pages(response.headers)
        following = p.ProductsCursor(position.page + 1, position.per_page) if more else None
        return CatalogPage(products, p.encode_products_cursor(following) if following else "")

    def _variations(self, product: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
        page = 1
        while page <= MAX_VARIATION_PAGES:
            params = {"per_page": p.MAX_PER_PAGE, "page": page, "orderby": "id", "order": "asc"}
            response = self._send(
                "GET", f"products/{product['id']}/variations", "listing variations", params=params
            )
            payload = _json(response)
            yield from (v for v in payload if isinstance(v, Mapping)) if isinstance(payload, list) else ()
            if page >= p.total_pages(response.headers):
                return
            page += 1
        log.warning(
            "product %s: more than %d variation pages; the rest is not read",
            product["id"],
            MAX_VARIATION_PAGES,
        )


def _order_id(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise InvalidArgument(
            "external_order_id must be a WooCommerce order id (a positive integer)",
            violations=[FieldViolation("external_order_id", "positive integer expected")],
        )
    return value


class OAuth1Signing(httpx.Auth):
    """OAuth 1.0a one-legged signing of every request (and every retry: a fresh nonce and
    timestamp each time), the oauth_* parameters in the query string as WooCommerce's docs
    advise ("query string should be more reliable"). The body is not signed (it is JSON here;
    WooCommerce would sign form fields, which this connector never sends)."""

    def __init__(
        self,
        consumer_key: str,
        consumer_secret: str,
        *,
        clock: Callable[[], float] = time.time,
        nonce: Callable[[], str] = lambda: secrets.token_hex(16),
    ) -> None:
        self._key, self._secret, self._clock, self._nonce = consumer_key, consumer_secret, clock, nonce

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        url = request.url
        raw_path = url.raw_path.split(b"?", 1)[0].decode("ascii")
        host = f"[{url.host}]" if ":" in url.host else url.host
        port = f":{url.port}" if url.port is not None else ""
        added = oauth1.signed_parameters(
            request.method,
            f"{url.scheme}://{host}{port}{raw_path}",
            parse_qsl(url.query.decode("ascii"), keep_blank_values=True),
            consumer_key=self._key,
            consumer_secret=self._secret,
            nonce=self._nonce(),
            timestamp=int(self._clock()),
        )
        request.url = url.copy_merge_params(dict(added))
        yield request


@dataclass(frozen=True)
class ClientFactory:
    """Builds the WooCommerceClient of one RPC from the connection's store URL and API keys."""

    http: ChannelHttpFactory

    def base_url(self, connection: Any) -> str:
        """`{store_url}/wp-json/wc/v3`, with the scheme, host and port of an `api_base_url` the
        operator allows (omnistock_connector_kit.endpoints: the store's sub-folder is kept).

        The consumer key/secret only ever go to this host. A real store must be https (the
        egress rules); a plain-http one (an allowed test host or sandbox) gets OAuth 1.0a
        signatures instead of the keys, as WooCommerce requires there (`open`).
        """
        settings = connection.settings
        # A connection that names only its REST root (https://store/wp-json/wc/v3) names its store
        # too: the root's origin is the store's; it gets no more than a store URL would.
        store = str(settings.get("store_url", "")) or p.store_of_rest_root(
            str(settings.get("api_base_url", ""))
        )
        derived = p.rest_root(store)
        if store and not derived:
            raise host_not_allowed("store_url")  # not an http(s) URL we would send keys to
        return channel_base_url(connection, derived, self.http.egress, identity="store_url")

    @contextmanager
    def open(self, connection: Any) -> Iterator[WooCommerceClient]:
        base_url = self.base_url(connection)
        key = require_secret(connection, "consumer_key")
        secret = require_secret(connection, "consumer_secret")
        plain_http = urlparse(base_url).scheme == "http"
        with self.http.open(
            connection,
            base_url,
            auth=OAuth1Signing(key, secret) if plain_http else httpx.BasicAuth(key, secret),
            headers={"Accept": "application/json", "User-Agent": "OmniStock-WooCommerce-Connector/1 (wc/v3)"},
        ) as http:
            yield WooCommerceClient(connection, http, base_url)
