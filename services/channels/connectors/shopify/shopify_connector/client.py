"""Shopify operations over the shared ChannelHttpClient (GraphQL Admin API, pinned "2025-07").

Everything HTTP-level (bucket, retries, Retry-After, THROTTLED-with-200 via `throttling.throttle_delay`)
happens in omnistock_connector_kit.channel_http; this module knows what to send and how to read it.
The local bucket is debited with each document's estimated query cost, in Shopify's own points,
so a replica set stays under the shop's GraphQL budget instead of discovering it through
THROTTLED responses.

Refresh design: nothing here refreshes a token. A 401 raises Unauthenticated(ACCESS_TOKEN_EXPIRED)
when the credentials carry a refresh token; the channels service refreshes (single-flight) via
RefreshCredentials and retries.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

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
    map_channel_error,
    require_secret,
)
from shopify_connector import protocol as p

log = logging.getLogger(__name__)

ACCESS_TOKEN_HEADER = "X-Shopify-Access-Token"
AUTHORIZATION_CODE_REJECTED = "AUTHORIZATION_CODE_REJECTED"
# Extra pages of line items read per order (x MORE_LINES_PAGE = 10,000 lines).
MAX_MORE_LINES_PAGES = 100
# CancelOrder watches Shopify's background cancellation job this many times, this far apart.
CANCEL_JOB_CHECKS = 4
CANCEL_JOB_PAUSE_SECONDS = 0.25
ORDER_CANCEL_REFUSED = "ORDER_CANCEL_REFUSED"


@dataclass(frozen=True)
class ShopInfo:
    name: str
    domain: str
    currency: str
    location_id: str

    def settings(self) -> dict[str, str]:
        learnt = {"shop_domain": self.domain, "currency": self.currency, "location_id": self.location_id}
        return {k: v for k, v in learnt.items() if v}


class ShopifyClient(ChannelClient):
    """One connection's Shopify operations; `http` carries the access token header (if any)."""

    def __init__(
        self, http: ChannelHttpClient, *, refreshable: bool, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.http = http
        # True when the credentials hold a refresh token: a 401 is then "refresh and retry".
        self.refreshable = refreshable
        # Waits between looks at a cancellation job (tests pass the connector's no-op seam).
        self.sleep = sleep

    # -- envelope ---------------------------------------------------------------------------

    def graphql(
        self,
        document: str,
        variables: Mapping[str, Any] | None = None,
        *,
        cost: float,
        what: str,
        idempotent: bool = True,
    ) -> dict[str, Any]:
        """POST one GraphQL document; return `data` or raise the contract's error.

        `idempotent=False` for mutations that must not run twice (fulfillmentCreate): the HTTP
        layer then only retries when Shopify surely did not act (429, throttled, no connection).
        """
        response = self.http.request(
            "POST",
            p.GRAPHQL_PATH,
            json={"query": document, "variables": dict(variables or {})},
            cost=cost,
            idempotent=idempotent,
        )
        check_response(response, refreshable=self.refreshable, what=what)
        try:
            body = response.json()
        except ValueError:
            raise FailedPrecondition(
                f"{what}: Shopify answered with non-JSON", reason=CHANNEL_REJECTED
            ) from None
        data = body.get("data") if isinstance(body, Mapping) else None
        problem = p.graphql_errors(body) if isinstance(body, Mapping) else "malformed response"
        if problem and p.is_access_denied(body):
            raise FailedPrecondition(
                f"{what}: access denied (missing scope?): {problem}", reason=CHANNEL_REJECTED
            )
        if problem and not data:
            raise FailedPrecondition(f"{what}: {problem}", reason=CHANNEL_REJECTED)
        if problem:
            log.warning("%s: partial GraphQL errors: %s", what, problem)
        return data or {}

    # -- OAuth -------------------------------------------------------------------------------

    def exchange_code(self, client_id: str, client_secret: str, code: str) -> p.TokenGrant:
        response = self.http.request(
            "POST", p.TOKEN_PATH, data=p.token_exchange_form(client_id, client_secret, code)
        )
        if response.status_code in (400, 401, 403):
            raise FailedPrecondition(
                "Shopify refused the authorization code (expired, already used, or wrong app)",
                reason=AUTHORIZATION_CODE_REJECTED,
            )
        check_response(response, refreshable=False, what="code exchange")
        return self._grant(response, "code exchange")

    def refresh(self, client_id: str, client_secret: str, refresh_token: str) -> p.TokenGrant:
        response = self.http.request(
            "POST", p.TOKEN_PATH, data=p.token_refresh_form(client_id, client_secret, refresh_token)
        )
        if response.status_code in (400, 401, 403):
            try:
                body: Any = response.json()
            except ValueError:
                body = None
            if p.is_invalid_grant(response.status_code, body):
                raise Unauthenticated(
                    "Shopify refused the refresh token; the shop must be re-authorized",
                    reason=CREDENTIALS_REVOKED,
                )
        check_response(response, refreshable=False, what="token refresh")
        return self._grant(response, "token refresh")

    @staticmethod
    def _grant(response: httpx.Response, what: str) -> p.TokenGrant:
        try:
            return p.parse_token_response(response.json())
        except ValueError as exc:
            raise FailedPrecondition(f"{what}: {exc}", reason=CHANNEL_REJECTED) from None

    # -- shop --------------------------------------------------------------------------------

    def shop_info(self) -> ShopInfo:
        data = self.graphql(p.SHOP_QUERY, cost=p.COST_SHOP, what="shop query")
        shop = data.get("shop") or {}
        locations = (data.get("locations") or {}).get("nodes") or []
        # Remote text becomes a connection name and settings: cleaned and bounded (egress.py).
        return ShopInfo(
            name=safe_text(shop.get("name") or "", 100),
            domain=safe_code(shop.get("myshopifyDomain") or ""),
            currency=safe_code(shop.get("currencyCode") or "")[:3],
            location_id=safe_text(locations[0].get("id") or "", 255) if locations else "",
        )

    # -- inventory ---------------------------------------------------------------------------

    def push_inventory(
        self, items: Sequence[p.InventoryInput], *, default_location: str, reference: str
    ) -> list[p.ItemResult]:
        """inventorySetQuantities in chunks of ≤250; one result per item, in input order.

        A transient failure (exhausted retries) stops the push: that chunk and the rest are
        RETRY. If nothing was applied at all, the failure is raised instead so the caller gets
        RESOURCE_EXHAUSTED/UNAVAILABLE (with RetryInfo) and records the error.
        """
        results: list[p.ItemResult | None] = [None] * len(items)
        sendable: list[tuple[int, str, str, int]] = []
        for index, item in enumerate(items):
            inventory_item = item.ids.get("inventory_item_id", "")
            location = item.ids.get("location_id", "") or default_location
            if not inventory_item or not location:
                results[index] = p.ItemResult(
                    item.sku,
                    p.Outcome.REJECTED,
                    "no Shopify inventory_item_id/location_id mapping for this SKU",
                )
                continue
            # Available-to-sell below zero means "none" to a channel.
            sendable.append(
                (
                    index,
                    p.gid("InventoryItem", inventory_item),
                    p.gid("Location", location),
                    max(0, item.quantity),
                )
            )

        applied_any = False
        for chunk_number, chunk in enumerate(p.chunked(sendable, p.MAX_INVENTORY_BATCH)):
            variables = p.inventory_set_input([(i, loc, q) for _, i, loc, q in chunk], reference=reference)
            try:
                data = self.graphql(
                    p.INVENTORY_SET_MUTATION, variables, cost=p.COST_MUTATION, what="inventorySetQuantities"
                )
            except ChannelHttpError as error:
                if not applied_any:
                    raise map_channel_error(error) from error
                for index, *_ in sendable[chunk_number * p.MAX_INVENTORY_BATCH :]:
                    results[index] = p.ItemResult(items[index].sku, p.Outcome.RETRY, str(error))
                break
            payload = data.get("inventorySetQuantities") or {}
            applied = payload.get("inventoryAdjustmentGroup") is not None or not payload.get("userErrors")
            outcomes = p.item_outcomes(
                len(chunk), payload.get("userErrors") or [], container="quantities", applied=applied
            )
            for (index, *_), (outcome, message) in zip(chunk, outcomes, strict=True):
                results[index] = p.ItemResult(items[index].sku, outcome, message)
                applied_any = applied_any or outcome is p.Outcome.APPLIED
        return [r for r in results if r is not None]

    def read_inventory(
        self, items: Sequence[p.InventoryInput], *, default_location: str
    ) -> list[p.RemoteQuantity]:
        """Quantities "available" per inventory item at its location (reconciliation)."""
        results = [p.RemoteQuantity(item.sku) for item in items]
        by_location: dict[str, list[tuple[int, str]]] = {}
        for index, item in enumerate(items):
            inventory_item = item.ids.get("inventory_item_id", "")
            location = item.ids.get("location_id", "") or default_location
            if inventory_item and location:
                by_location.setdefault(p.gid("Location", location), []).append(
                    (index, p.gid("InventoryItem", inventory_item))
                )
        for location, entries in by_location.items():
            for chunk in p.chunked(entries, p.READ_BATCH):
                data = self.graphql(
                    p.READ_INVENTORY_QUERY,
                    {"ids": [item_gid for _, item_gid in chunk], "locationId": location},
                    cost=2.0 + 3.0 * len(chunk),
                    what="read inventory",
                )
                nodes = data.get("nodes") or []
                for (index, _), node in zip(chunk, nodes, strict=False):
                    level = (node or {}).get("inventoryLevel")
                    if not node or level is None:
                        continue
                    quantities = {q.get("name"): q.get("quantity") for q in level.get("quantities") or []}
                    results[index] = replace(
                        results[index], found=True, quantity=int(quantities.get("available") or 0)
                    )
        return results

    # -- prices ------------------------------------------------------------------------------

    def read_prices(self, items: Sequence[p.PriceInput], *, shop_currency: str) -> list[p.RemotePrice]:
        """Price and compare-at price per variant (reconciliation), read in the shop's currency
        (else the currency OmniStock expects); found=False for unknown variants."""
        results = [p.RemotePrice(item.sku) for item in items]
        wanted = [
            (i, p.gid("ProductVariant", item.ids["variant_id"]))
            for i, item in enumerate(items)
            if item.ids.get("variant_id")
        ]
        for chunk in p.chunked(wanted, p.READ_BATCH):
            data = self.graphql(
                p.READ_PRICES_QUERY,
                {"ids": [variant for _, variant in chunk]},
                cost=2.0 + len(chunk),
                what="read prices",
            )
            for (index, _), node in zip(chunk, data.get("nodes") or [], strict=False):
                if not node:
                    continue
                currency = shop_currency or items[index].price.currency
                price = p.read_amount(node.get("price"), currency)
                if price is not None:
                    compare = p.read_amount(node.get("compareAtPrice"), currency)
                    results[index] = p.RemotePrice(items[index].sku, True, price, compare)
        return results

    def push_prices(self, items: Sequence[p.PriceInput], *, shop_currency: str) -> list[p.ItemResult]:
        """productVariantsBulkUpdate, one call per product (Shopify's rule), results in order."""
        results: list[p.ItemResult | None] = [None] * len(items)
        by_product: dict[str, list[int]] = {}
        for index, item in enumerate(items):
            problem = p.price_problem(item, shop_currency)
            if problem:
                results[index] = p.ItemResult(item.sku, p.Outcome.REJECTED, problem)
            else:
                by_product.setdefault(p.gid("Product", item.ids["product_id"]), []).append(index)

        applied_any = False
        products = list(by_product.items())
        for position, (product, indexes) in enumerate(products):
            for chunk in p.chunked(indexes, p.MAX_PRICE_BATCH):
                variants = [
                    p.variant_price_input(p.gid("ProductVariant", items[i].ids["variant_id"]), items[i])
                    for i in chunk
                ]
                try:
                    data = self.graphql(
                        p.VARIANTS_BULK_UPDATE_MUTATION,
                        {"productId": product, "variants": variants},
                        cost=p.COST_MUTATION,
                        what="productVariantsBulkUpdate",
                    )
                except ChannelHttpError as error:
                    if not applied_any:
                        raise map_channel_error(error) from error
                    for _, rest in products[position:]:
                        for index in rest:
                            if results[index] is None:
                                results[index] = p.ItemResult(items[index].sku, p.Outcome.RETRY, str(error))
                    return [r for r in results if r is not None]
                payload = data.get("productVariantsBulkUpdate") or {}
                errors = payload.get("userErrors") or []
                applied = not errors
                outcomes = p.item_outcomes(len(chunk), errors, container="variants", applied=applied)
                for index, (outcome, message) in zip(chunk, outcomes, strict=True):
                    results[index] = p.ItemResult(items[index].sku, outcome, message)
                    applied_any = applied_any or outcome is p.Outcome.APPLIED
        return [r for r in results if r is not None]

    # -- orders ------------------------------------------------------------------------------

    def fetch_orders(self, *, search: str | None, cursor: str, limit: int) -> tuple[list[p.OrderData], str]:
        first = max(1, min(limit or p.MAX_ORDERS_PAGE, p.MAX_ORDERS_PAGE))
        data = self.graphql(
            p.ORDERS_QUERY,
            {"first": first, "after": cursor or None, "query": search},
            cost=p.orders_query_cost(first),
            what="orders query",
        )
        connection = data.get("orders") or {}
        orders = []
        for node in connection.get("nodes") or []:
            if node:
                orders.append(p.order_from_graphql(node, self._more_lines(node)))
        page = connection.get("pageInfo") or {}
        next_cursor = str(page.get("endCursor") or "") if page.get("hasNextPage") else ""
        return orders, next_cursor

    def _more_lines(self, node: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Line items beyond the first page of a big order (never silently truncate an order)."""
        lines: list[dict[str, Any]] = []
        page = (node.get("lineItems") or {}).get("pageInfo") or {}
        pages = 0
        while page.get("hasNextPage") and page.get("endCursor"):
            pages += 1
            if pages > MAX_MORE_LINES_PAGES:
                # A bounded read: an endless "hasNextPage" must not hold a worker or its memory.
                raise FailedPrecondition(
                    f"order {p.numeric_id(node.get('id'))} has more line items than OmniStock reads",
                    reason=CHANNEL_REJECTED,
                )
            data = self.graphql(
                p.ORDER_LINES_QUERY,
                {"id": node["id"], "after": page["endCursor"]},
                cost=p.ORDER_LINES_QUERY_COST,
                what="order line items",
            )
            items = ((data.get("order") or {}).get("lineItems")) or {}
            lines.extend(items.get("nodes") or [])
            page = items.get("pageInfo") or {}
        return lines

    def create_fulfillment(
        self,
        external_order_id: str,
        lines: Sequence[p.FulfillmentLineInput],
        *,
        carrier: str,
        tracking_number: str,
        tracking_url: str,
    ) -> str:
        """fulfillmentCreate over the order's open fulfillment orders; returns the numeric id.

        The channels service retries until Shopify answers, and an attempt whose answer was lost may
        have worked: a fulfillment already carrying this tracking number is returned, not repeated.
        """
        order_gid = p.gid("Order", external_order_id)
        data = self.graphql(
            p.FULFILLMENT_ORDERS_QUERY,
            {"id": order_gid},
            cost=p.FULFILLMENT_ORDERS_QUERY_COST,
            what="fulfillment orders",
        )
        order = data.get("order")
        if not order:
            raise NotFound(f"Shopify has no order {external_order_id}")
        earlier = p.already_shipped(order.get("fulfillments") or [], tracking_number)
        if earlier:
            log.info(
                "order %s: fulfillment %s already carries this tracking number", external_order_id, earlier
            )
            return earlier
        open_orders = [
            fo
            for fo in (order.get("fulfillmentOrders") or {}).get("nodes") or []
            if str(fo.get("status", "")).upper() in ("OPEN", "IN_PROGRESS")
        ]
        by_fulfillment_order = p.fulfillment_allocation(open_orders, lines)
        if not by_fulfillment_order:
            raise FailedPrecondition(
                f"order {external_order_id} has nothing left to fulfil", reason=p.NOTHING_TO_FULFIL
            )
        fulfillment: dict[str, Any] = {
            "lineItemsByFulfillmentOrder": by_fulfillment_order,
            "notifyCustomer": False,
        }
        tracking = p.tracking_input(carrier, tracking_number, tracking_url)
        if tracking:
            fulfillment["trackingInfo"] = tracking
        data = self.graphql(
            p.FULFILLMENT_CREATE_MUTATION,
            {"fulfillment": fulfillment},
            cost=p.COST_MUTATION,
            what="fulfillmentCreate",
            idempotent=False,
        )
        payload = data.get("fulfillmentCreate") or {}
        errors = payload.get("userErrors") or []
        created = payload.get("fulfillment") or {}
        if errors or not created.get("id"):
            message = "; ".join(p.error_message(e) for e in errors) or "no fulfillment returned"
            raise FailedPrecondition(f"Shopify refused the fulfillment: {message}", reason=CHANNEL_REJECTED)
        return p.numeric_id(created["id"])

    def cancel_order(self, external_order_id: str, reason: str, *, refund: bool) -> str:
        """orderCancel; returns the cancellation job's id ("" when the order was already cancelled).

        Shopify cancels in a background Job: the job is watched for about a second, and one still
        running is reported as accepted (the shop's orders/cancelled webhook or the next poll
        confirms it). Refusals (orderCancelUserErrors, or a job that finished without cancelling)
        are FAILED_PRECONDITION: asking again will not change Shopify's mind.
        """
        order_gid = p.gid("Order", external_order_id)
        data = self.graphql(
            p.ORDER_CANCELLED_QUERY, {"id": order_gid}, cost=p.COST_SHOP, what="order cancellation state"
        )
        if not data.get("order"):
            raise NotFound(f"Shopify has no order {external_order_id}")
        if data["order"].get("cancelledAt"):
            return ""
        data = self.graphql(
            p.ORDER_CANCEL_MUTATION,
            p.cancel_variables(order_gid, reason, refund=refund),
            cost=p.COST_MUTATION,
            what="orderCancel",
            idempotent=False,
        )
        payload = data.get("orderCancel") or {}
        errors = payload.get("orderCancelUserErrors") or []
        job_id = str((payload.get("job") or {}).get("id") or "")
        if errors or not job_id:
            raise FailedPrecondition(p.cancel_refusal(errors), reason=ORDER_CANCEL_REFUSED)
        for check in range(CANCEL_JOB_CHECKS):
            if check:
                self.sleep(CANCEL_JOB_PAUSE_SECONDS)
            state = self.graphql(
                p.CANCEL_JOB_QUERY,
                {"id": order_gid, "job": job_id},
                cost=p.COST_SHOP,
                what="cancellation job",
            )
            if (state.get("order") or {}).get("cancelledAt"):
                return job_id
            if (state.get("job") or {}).get("done"):
                raise FailedPrecondition(
                    "Shopify finished the cancellation job without cancelling the order",
                    reason=ORDER_CANCEL_REFUSED,
                )
        return job_id

    # -- catalogue ---------------------------------------------------------------------------

    def list_variants(
        self, *, cursor: str, limit: int, location_id: str
    ) -> tuple[list[p.RemoteProductData], str]:
        first = max(1, min(limit or 100, p.MAX_VARIANTS_PAGE))
        data = self.graphql(
            p.VARIANTS_QUERY,
            {"first": first, "after": cursor or None},
            cost=2.0 + first * 3,
            what="productVariants query",
        )
        connection = data.get("productVariants") or {}
        products: list[p.RemoteProductData] = []
        for node in connection.get("nodes") or []:
            if node and node.get("sku"):  # without a SKU there is nothing to auto-map by
                products.append(p.remote_product(node, location_id))
        page = connection.get("pageInfo") or {}
        next_cursor = str(page.get("endCursor") or "") if page.get("hasNextPage") else ""
        return products, next_cursor

    def list_catalog(
        self, *, cursor: str, limit: int, currency: str
    ) -> tuple[list[p.CatalogProductData], str]:
        """One page of whole products (the onboarding import), by Shopify's cursor."""
        first = max(1, min(limit or p.MAX_CATALOG_PAGE, p.MAX_CATALOG_PAGE))
        data = self.graphql(
            p.CATALOG_QUERY,
            {"first": first, "after": cursor or None},
            cost=2.0 + first * p.CATALOG_QUERY_COST_PER_PRODUCT,
            what="products query",
        )
        connection = data.get("products") or {}
        products = []
        for node in connection.get("nodes") or []:
            if isinstance(node, dict):
                products.append(p.catalog_product(node, currency, self._more_variants(node, currency)))
        page = connection.get("pageInfo") or {}
        next_cursor = str(page.get("endCursor") or "") if page.get("hasNextPage") else ""
        return products, next_cursor

    def _more_variants(self, node: Mapping[str, Any], currency: str) -> list[p.CatalogVariantData]:
        """The variants of a product past the first page of the products query."""
        out: list[p.CatalogVariantData] = []
        after = p.more_variants_cursor(node)
        while after:
            data = self.graphql(
                p.PRODUCT_VARIANTS_QUERY,
                {"id": node["id"], "after": after},
                cost=p.MORE_VARIANTS_COST,
                what="product variants query",
            )
            product = data.get("product") or {}
            out.extend(p.catalog_variants(str(node["id"]), product.get("variants"), currency))
            after = p.more_variants_cursor(product)
        return out


@dataclass(frozen=True)
class ClientFactory:
    """Builds the ShopifyClient of one RPC from the connection's shop domain and access token."""

    http: ChannelHttpFactory

    def base_url(self, connection: Any) -> str:
        """https://{shop}.myshopify.com from the validated shop domain, or an allowed sandbox.
        Every secret this connector sends (client secret, tokens) goes to this host only."""
        shop = connection.settings.get("shop_domain", "")
        derived = p.shop_base_url(shop)
        if shop and not derived:
            raise InvalidArgument(
                "shop_domain must be <shop>.myshopify.com",
                violations=[
                    FieldViolation("connection.settings.shop_domain", "must match <shop>.myshopify.com")
                ],
            )
        return channel_base_url(connection, derived, self.http.egress, identity="shop_domain")

    @contextmanager
    def open(self, connection: Any, *, token: str | None = None) -> Iterator[ShopifyClient]:
        """A ShopifyClient for this call; `token` overrides the connection's access token
        (ExchangeCode uses the fresh one), "" means no token (OAuth endpoints)."""
        access_token = require_secret(connection, "access_token") if token is None else token
        headers = {ACCESS_TOKEN_HEADER: access_token} if access_token else None
        refreshable = bool(connection.credentials.secrets.get("refresh_token"))
        with self.http.open(connection, self.base_url(connection), headers=headers) as http:
            yield ShopifyClient(http, refreshable=refreshable, sleep=self.http.sleep or time.sleep)
