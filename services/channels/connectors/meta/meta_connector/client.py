"""Meta Graph API v25.0 operations over the shared ChannelHttpClient (send what `protocol`
built, read the answer through `protocol`, raise the contract's errors; plain values in and out).

Tokens go in `Authorization: Bearer <token>` (Graph accepts the header or the access_token
parameter, CHANNELS.md 3; the header keeps tokens out of URLs and call logs). The user token
(long-lived) reads catalogs and pushes items; order calls use the Page token when the connection
has one (Order Management wants a Page token with an EDITOR+ role, CHANNELS.md 3.3).

Errors: the Graph envelope decides, not the HTTP status: code 190 → UNAUTHENTICATED
CREDENTIALS_REVOKED with the reason in words (a Meta token cannot be refreshed once refused),
rate-limit codes / 429 → RESOURCE_EXHAUSTED with retry_after from X-Business-Use-Case-Usage
(the HTTP layer already retried short waits through `throttle_delay`), permission codes →
UNAUTHENTICATED CREDENTIALS_REVOKED (re-authorize with the permission), other 4xx →
FAILED_PRECONDITION CHANNEL_REJECTED with Meta's message, 5xx → UNAVAILABLE.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from meta_connector import protocol as p
from meta_connector.protocol import catalog_import as ci
from meta_connector.protocol import publish as pub
from omnistock_common.egress import safe_text
from omnistock_common.errors import (
    DomainError,
    FailedPrecondition,
    ResourceExhausted,
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
    channel_base_url,
    require_secret,
)

log = logging.getLogger(__name__)
# Batch-status polling: the first look after this long, then doubling up to the poll interval.
FIRST_POLL_WAIT = 0.2
MAX_STATUS_POLLS = 60

AUTHORIZATION_CODE_REJECTED = "AUTHORIZATION_CODE_REJECTED"
# Pages of an edge read while discovering businesses, catalogs and Pages.
MAX_DISCOVERY_PAGES = 20


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def throttle_delay(response: httpx.Response) -> float | None:
    """ChannelHttpClient hook: a Graph rate-limit error (HTTP 400/403 with code 4/17/32/613/800xx)
    is a throttle; the wait is X-Business-Use-Case-Usage's estimate (or a minute)."""
    if response.status_code < 400 or response.status_code >= 500:
        return None
    error = p.graph_error(_json(response))
    if error is None or not error.is_rate_limit:
        return None
    return p.rate_limit_wait(response.headers)


def usage_observer(capacity: float) -> Callable[[httpx.Response], float | None]:
    """ChannelHttpClient bucket hook: when Meta reports a quota ≥ HIGH_USAGE_PERCENT used
    (X-App-Usage / X-Business-Use-Case-Usage), the connection's bucket drops to the share left, so
    calls slow down before Meta throttles; below that the local bucket paces on its own."""

    def observe(response: httpx.Response) -> float | None:
        percent = p.usage_percent(response.headers)
        if percent is None or percent < p.HIGH_USAGE_PERCENT:
            return None
        return capacity * max(0.0, 100.0 - percent) / 100.0

    return observe


@dataclass(frozen=True)
class Discovery:
    """What one Meta login can manage: its catalogs and Pages (with their Page tokens)."""

    catalogs: tuple[p.Catalog, ...]
    pages: tuple[p.Page, ...]


class MetaClient(ChannelClient):
    """One connection's Graph operations; `http` carries the user token header (if any)."""

    def __init__(
        self,
        http: ChannelHttpClient,
        *,
        sleep: Callable[[float], None] = time.sleep,
        batch_wait: float = 15.0,
        poll_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.http = http
        self.sleep = sleep
        self.batch_wait = batch_wait
        self.poll_interval = poll_interval
        self.clock = clock

    # -- envelope ---------------------------------------------------------------------------

    def graph(
        self,
        method: str,
        path: str,
        *,
        what: str,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        json_body: Any = None,
        token: str | None = None,
    ) -> Any:
        """One Graph call; its JSON body, or the contract's error."""
        response, body = self._send(
            method, path, what=what, params=params, data=data, json_body=json_body, token=token
        )
        if response.status_code >= 400 or p.graph_error(body) is not None:
            raise self._failure(response, body, what)
        return body

    def _send(
        self,
        method: str,
        path: str,
        *,
        what: str,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        json_body: Any = None,
        token: str | None = None,
    ) -> tuple[httpx.Response, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        try:
            response = self.http.request(
                method, path, params=params, data=data, json=json_body, headers=headers
            )
        except ChannelHttpError as exc:
            if exc.response is not None:
                error = p.graph_error(_json(exc.response))
                if exc.status == 429 or (error is not None and error.is_rate_limit):
                    wait = exc.retry_after or p.rate_limit_wait(exc.response.headers)
                    raise ResourceExhausted(
                        f"{what}: Meta rate limit ({_words(error)})", reason=RATE_LIMITED, retry_after=wait
                    ) from None
            raise
        return response, _json(response)

    @staticmethod
    def _failure(response: httpx.Response, body: Any, what: str) -> DomainError:
        error = p.graph_error(body)
        status = response.status_code
        if error is not None and error.is_token_error:
            return Unauthenticated(f"{what}: {p.token_problem(error)}", reason=CREDENTIALS_REVOKED)
        if status == 429 or (error is not None and error.is_rate_limit):
            return ResourceExhausted(
                f"{what}: Meta rate limit ({_words(error)})",
                reason=RATE_LIMITED,
                retry_after=p.rate_limit_wait(response.headers),
            )
        if error is not None and error.is_permission_error:
            return Unauthenticated(
                f"{what}: the Meta login lacks a permission ({_words(error)}); reconnect and grant it",
                reason=CREDENTIALS_REVOKED,
            )
        if status == 401:
            return Unauthenticated(f"{what}: Meta rejected the access token", reason=CREDENTIALS_REVOKED)
        if status >= 500:
            return Unavailable(f"{what}: Meta error HTTP {status}", reason=CHANNEL_UNAVAILABLE)
        return FailedPrecondition(
            f"{what}: Meta refused the request ({_words(error)})", reason=CHANNEL_REJECTED
        )

    def _edge(
        self, path: str, params: Mapping[str, Any], *, what: str, token: str | None = None
    ) -> list[Mapping[str, Any]]:
        """Every item of a (small) edge, following cursors up to MAX_DISCOVERY_PAGES pages."""
        items: list[Mapping[str, Any]] = []
        after = ""
        for _ in range(MAX_DISCOVERY_PAGES):
            query = dict(params, after=after) if after else dict(params)
            page, after = p.page_items(self.graph("GET", path, params=query, what=what, token=token))
            items.extend(page)
            if not after:
                break
        return items

    # -- OAuth -------------------------------------------------------------------------------

    def exchange_code(self, app_id: str, app_secret: str, redirect_uri: str, code: str) -> p.TokenGrant:
        """code → short-lived user token (the code is single-use and bound to redirect_uri)."""
        response, body = self._send(
            "GET",
            p.TOKEN_PATH,
            params=p.code_exchange_params(app_id, app_secret, redirect_uri, code),
            what="code exchange",
        )
        error = p.graph_error(body)
        if response.status_code in (400, 401, 403) and (error is None or not error.is_rate_limit):
            raise FailedPrecondition(
                f"Meta refused the authorization code (expired, already used, or another redirect_uri): {_words(error)}",
                reason=AUTHORIZATION_CODE_REJECTED,
            )
        if response.status_code >= 400 or error is not None:
            raise self._failure(response, body, "code exchange")
        return self._grant(body, "code exchange")

    def long_lived(self, app_id: str, app_secret: str, token: str) -> p.TokenGrant:
        """A (still valid) user token → a long-lived one (~60 days); an expired or revoked one is
        UNAUTHENTICATED CREDENTIALS_REVOKED with Meta's reason in words."""
        response, body = self._send(
            "GET", p.TOKEN_PATH, params=p.long_lived_params(app_id, app_secret, token), what="token exchange"
        )
        error = p.graph_error(body)
        if error is not None and (error.is_token_error or (error.code == 100 and response.status_code < 500)):
            raise Unauthenticated(f"token exchange: {p.token_problem(error)}", reason=CREDENTIALS_REVOKED)
        if response.status_code >= 400 or error is not None:
            raise self._failure(response, body, "token exchange")
        return self._grant(body, "token exchange")

    @staticmethod
    def _grant(body: Any, what: str) -> p.TokenGrant:
        try:
            return p.parse_token_response(body if isinstance(body, Mapping) else {})
        except ValueError as exc:
            raise FailedPrecondition(f"{what}: {exc}", reason=CHANNEL_REJECTED) from None

    # -- discovery ---------------------------------------------------------------------------

    def discover(self, *, with_instagram: bool) -> Discovery:
        """The catalogs the user's businesses own (GET /me/businesses → /{business_id}/owned_product_catalogs,
        SDK business.py) and their Pages with Page tokens (GET /me/accounts)."""
        catalogs: list[p.Catalog] = []
        for business in self._edge("/me/businesses", {"fields": "id,name"}, what="businesses"):
            business_id = str(business.get("id") or "")
            if not p.is_graph_id(business_id):
                continue
            for catalog in self._edge(
                f"/{business_id}/owned_product_catalogs", {"fields": "id,name"}, what="catalogs"
            ):
                if p.is_graph_id(str(catalog.get("id") or "")):
                    catalogs.append(
                        p.Catalog(
                            str(catalog["id"]), safe_text(str(catalog.get("name") or ""), 100), business_id
                        )
                    )
        fields = "id,name,access_token" + (",instagram_business_account" if with_instagram else "")
        pages: list[p.Page] = []
        for page in self._edge("/me/accounts", {"fields": fields}, what="pages"):
            instagram = page.get("instagram_business_account")
            pages.append(
                p.Page(
                    id=str(page.get("id") or ""),
                    name=safe_text(str(page.get("name") or ""), 100),
                    access_token=str(page.get("access_token") or ""),
                    instagram_account_id=str(instagram.get("id") or "")
                    if isinstance(instagram, Mapping)
                    else "",
                )
            )
        return Discovery(tuple(catalogs), tuple(pages))

    def commerce_merchant_settings(self, page: p.Page) -> str:
        """The Page's commerce account id (cms_id), "" when it has no onsite checkout (Page edge
        commerce_merchant_settings, SDK page.py)."""
        entries = self._edge(
            f"/{page.id}/commerce_merchant_settings",
            {"fields": "id,display_name"},
            what="commerce settings",
            token=page.access_token or None,
        )
        for entry in entries:
            cms_id = str(entry.get("id") or "")
            if p.is_graph_id(cms_id):
                return cms_id
        return ""

    def catalog(self, catalog_id: str) -> p.Catalog:
        body = self.graph("GET", f"/{catalog_id}", params={"fields": "id,name"}, what="catalog")
        return p.Catalog(str(body.get("id") or catalog_id), safe_text(str(body.get("name") or ""), 100))

    # -- items_batch ---------------------------------------------------------------------------

    def push(self, catalog_id: str, requests: Sequence[tuple[str, Mapping[str, Any]]]) -> list[p.ItemResult]:
        """items_batch UPDATEs in calls of ≤5,000 requests and ≤28 MB, each polled until finished
        (bounded by batch_wait). One result per request, in order. A transient failure before
        anything was sent is raised (RESOURCE_EXHAUSTED/UNAVAILABLE with RetryInfo); after that the
        rest are RETRY."""
        results: list[p.ItemResult] = []
        for chunk in _batches(requests):
            try:
                results.extend(self._push_batch(catalog_id, chunk))
            except (ResourceExhausted, Unavailable) as exc:
                if not results:
                    raise
                done = len(results)
                results.extend(p.ItemResult(sku, p.Outcome.RETRY, str(exc)) for sku, _ in requests[done:])
                break
        return results

    def _push_batch(
        self, catalog_id: str, chunk: Sequence[tuple[str, Mapping[str, Any]]]
    ) -> list[p.ItemResult]:
        body = self.graph(
            "POST",
            p.items_batch_path(catalog_id),
            data=p.items_batch_form([request for _, request in chunk]),
            what="items_batch",
        )
        handles = p.batch_handles(body)
        if not handles:
            raise FailedPrecondition(
                "items_batch: Meta answered without a batch handle", reason=CHANNEL_REJECTED
            )
        statuses = [self._wait_for(catalog_id, handle) for handle in handles]
        rejected: dict[str, str] = {}
        for status in statuses:
            rejected.update(status.rejected)
        unfinished = [s for s in statuses if not s.finished]
        general = [e for s in statuses for e in s.general_errors]
        results = []
        for sku, _ in chunk:
            if sku in rejected:
                results.append(p.ItemResult(sku, p.Outcome.REJECTED, rejected[sku]))
            elif unfinished:
                results.append(
                    p.ItemResult(
                        sku,
                        p.Outcome.RETRY,
                        f"Meta had not finished the batch after {self.batch_wait:g}s ({unfinished[0].status or 'no status'})",
                    )
                )
            elif general:
                results.append(
                    p.ItemResult(sku, p.Outcome.RETRY, f"Meta reported a batch error: {general[0]}")
                )
            else:
                results.append(p.ItemResult(sku, p.Outcome.APPLIED))
        return results

    def _wait_for(self, catalog_id: str, handle: str) -> p.BatchStatus:
        """Poll the batch until it is finished or batch_wait is spent: first after FIRST_POLL_WAIT,
        then twice as long each time up to poll_interval, so a small batch (one sale) is seen
        finished within a fraction of a second and a big one costs few status calls."""
        deadline = self.clock() + self.batch_wait
        wait = min(FIRST_POLL_WAIT, self.poll_interval)
        # Also bounded in polls, so a no-op sleep (tests) cannot spin for batch_wait seconds.
        polls_left = MAX_STATUS_POLLS
        while True:
            polls_left -= 1
            body = self.graph(
                "GET",
                p.batch_status_path(catalog_id),
                params={"handle": handle, "load_ids_of_invalid_requests": "true"},
                what="batch status",
            )
            status = p.batch_status(body)
            if (
                status.finished
                or polls_left <= 0
                or self.poll_interval <= 0
                or self.clock() + wait > deadline
            ):
                return status
            self.sleep(wait)
            wait = min(wait * 2, self.poll_interval)

    # -- items -----------------------------------------------------------------------------------

    def read_items(self, catalog_id: str, skus: Sequence[str]) -> dict[str, Mapping[str, Any]]:
        """The catalog items with these retailer ids (filtered products edge), by retailer id."""
        found: dict[str, Mapping[str, Any]] = {}
        unique = list(dict.fromkeys(s for s in skus if s))
        for chunk in p.chunked(unique, p.READ_CHUNK):
            params = {
                "fields": p.PRODUCT_FIELDS,
                "filter": p.retailer_filter(chunk),
                "limit": str(len(chunk)),
            }
            for item in self._edge(p.products_path(catalog_id), params, what="products"):
                retailer_id = str(item.get("retailer_id") or "")
                if retailer_id in chunk:
                    found.setdefault(retailer_id, item)
        return found

    def list_products(
        self, catalog_id: str, *, cursor: str, limit: int
    ) -> tuple[list[p.RemoteProductData], str]:
        size = max(1, min(limit or p.DEFAULT_PRODUCTS_PAGE, p.MAX_PRODUCTS_PAGE))
        params = {"fields": p.PRODUCT_FIELDS, "limit": str(size)}
        if cursor:
            params["after"] = cursor
        items, after = p.page_items(
            self.graph("GET", p.products_path(catalog_id), params=params, what="products")
        )
        products = [p.remote_product(item) for item in items if item.get("retailer_id")]
        return products, after

    def list_catalog(
        self, catalog_id: str, *, cursor: str, limit: int
    ) -> tuple[list[ci.CatalogProductData], str]:
        """One page of catalog items (cursor paging) as whole products (protocol.catalog_import)."""
        size = max(1, min(limit or p.DEFAULT_PRODUCTS_PAGE, p.MAX_PRODUCTS_PAGE))
        params = {"fields": ci.CATALOG_FIELDS, "limit": str(size)}
        if cursor:
            params["after"] = cursor
        items, after = p.page_items(
            self.graph("GET", p.products_path(catalog_id), params=params, what="catalog products")
        )
        return ci.catalog_products(items), after

    def group_items(self, catalog_id: str, group: str) -> list[Mapping[str, Any]]:
        """The catalog items of one item group (filtered products edge)."""
        params = {"fields": "id,retailer_id,retailer_product_group_id", "filter": pub.group_filter(group)}
        items = self._edge(p.products_path(catalog_id), params, what="products of a group")
        return [i for i in items if str(i.get("retailer_product_group_id") or "") == group]

    # -- orders ----------------------------------------------------------------------------------

    def list_orders(
        self, cms_id: str, *, token: str, updated_after: str, cursor: str, limit: int
    ) -> tuple[list[Mapping[str, Any]], str]:
        params = {
            "state": ",".join(p.ORDER_STATES),
            "fields": p.ORDER_FIELDS,
            "limit": str(max(1, min(limit or p.MAX_ORDERS_PAGE, p.MAX_ORDERS_PAGE))),
        }
        if updated_after:
            params["updated_after"] = updated_after
        if cursor:
            params["after"] = cursor
        return p.page_items(
            self.graph("GET", p.orders_path(cms_id), params=params, what="commerce orders", token=token)
        )

    def order_items(self, order_id: str, *, token: str) -> list[Mapping[str, Any]]:
        return self._edge(
            f"/{order_id}/items", {"fields": p.ORDER_ITEM_FIELDS}, what="order items", token=token
        )

    def order_cancellations(self, order_id: str, *, token: str) -> list[Mapping[str, Any]]:
        return self._edge(f"/{order_id}/cancellations", {}, what="order cancellations", token=token)

    def acknowledge(self, order_id: str, *, token: str, reference: str) -> bool:
        """POST /{order_id}/acknowledge_order; False when Meta refused it for this order (it stays
        CREATED and is offered again), other failures raise."""
        try:
            self.graph(
                "POST",
                f"/{order_id}/acknowledge_order",
                data=p.acknowledge_form(order_id, reference),
                what="acknowledge order",
                token=token,
            )
        except FailedPrecondition as exc:
            log.warning("order %s not acknowledged: %s", order_id, exc)
            return False
        return True

    def ship(self, order_id: str, body: Mapping[str, Any], *, token: str) -> str:
        answer = self.graph(
            "POST", f"/{order_id}/shipments", json_body=dict(body), what="shipment", token=token
        )
        shipment = str((answer or {}).get("id") or "") if isinstance(answer, Mapping) else ""
        return shipment or str(body["idempotency_key"])

    def cancel(self, order_id: str, body: Mapping[str, Any], *, token: str) -> None:
        self.graph(
            "POST", f"/{order_id}/cancellations", json_body=dict(body), what="cancellation", token=token
        )


def _words(error: p.GraphError | None) -> str:
    if error is None:
        return "no Graph error body"
    return f"code {error.code}/{error.subcode}: {safe_text(error.message, 300)}"


def _batches(
    requests: Sequence[tuple[str, Mapping[str, Any]]],
) -> Iterator[Sequence[tuple[str, Mapping[str, Any]]]]:
    """≤ MAX_BATCH_REQUESTS requests and well under MAX_BATCH_BYTES of JSON per items_batch call."""
    start, size, budget = 0, 0, p.MAX_BATCH_BYTES - 64 * 1024
    for index, (_, request) in enumerate(requests):
        length = len(json.dumps(request, separators=(",", ":"))) + 1
        if index > start and (index - start >= p.MAX_BATCH_REQUESTS or size + length > budget):
            yield requests[start:index]
            start, size = index, 0
        size += length
    if start < len(requests):
        yield requests[start:]


@dataclass(frozen=True)
class ClientFactory:
    """Builds the MetaClient of one RPC: the Graph base URL (or the allowed sandbox) and a token."""

    http: ChannelHttpFactory
    batch_wait: float = 15.0
    poll_interval: float = 1.0

    def base_url(self, connection: Any) -> str:
        """https://graph.facebook.com/v25.0, or `api_base_url`'s scheme/host/port with the same path."""
        return channel_base_url(connection, p.GRAPH_BASE_URL, self.http.egress, identity="api_base_url")

    def dialog_base(self, connection: Any) -> str:
        """https://www.facebook.com/v25.0 (the Login dialog), moved by `api_base_url` like the API."""
        return channel_base_url(connection, p.DIALOG_BASE_URL, self.http.egress, identity="api_base_url")

    @contextmanager
    def open(self, connection: Any, *, token: str | None = None) -> Iterator[MetaClient]:
        """`token` overrides the connection's access token ("" = none: the OAuth endpoints)."""
        access_token = require_secret(connection, "access_token") if token is None else token
        headers = {"Authorization": f"Bearer {access_token}"} if access_token else None
        with self.http.open(connection, self.base_url(connection), headers=headers) as http:
            yield MetaClient(
                http,
                sleep=self.http.sleep or time.sleep,
                batch_wait=self.batch_wait,
                poll_interval=self.poll_interval,
            )
