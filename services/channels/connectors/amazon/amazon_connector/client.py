"""Amazon SP-API operations over the shared ChannelHttpClient (see protocol.api for the versions).

Everything HTTP-level (buckets, 429/5xx retries with backoff, egress guard, records) happens in
omnistock_connector_kit.channel_http; this module knows what to send and how to read it:

- every call names its SP-API operation: the HTTP client's bucket key becomes
  `<connection bucket>:<operation>` (throttling.OperationLimiter sizes it by the usage plan);
- calls carry `x-amz-access-token`; the LWA token endpoint and the presigned feed-document URLs
  get no token (a presigned URL is another host: it must never see the seller's token);
- token refresh: LWA refresh tokens are long-lived and never rotated (CHANNELS.md 0.1), so a
  refresh cannot race another worker's. On a 403 `Unauthorized` (or 401) the client refreshes
  ONCE, retries the call ONCE with the new token and keeps the grant in `refreshed`; the servicer
  returns it as `refreshed_credentials`, which the channels service stores. A second refusal is
  UNAUTHENTICATED (CREDENTIALS_REVOKED: a revoked app or a missing role needs re-authorization).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from amazon_connector import protocol as p
from amazon_connector.protocol import catalog_import as ci
from omnistock_common.egress import safe_code, safe_text
from omnistock_common.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)
from omnistock_connector_kit.channel_http import ChannelHttpClient
from omnistock_connector_kit.clients import ChannelClient, ChannelHttpFactory
from omnistock_connector_kit.connector_base import (
    CHANNEL_REJECTED,
    CHANNEL_UNAVAILABLE,
    CREDENTIALS_REVOKED,
    RATE_LIMITED,
    channel_base_url,
    require_secret,
)
from omnistock_connector_kit.endpoints import with_api_base_url

log = logging.getLogger(__name__)

AUTHORIZATION_CODE_REJECTED = "AUTHORIZATION_CODE_REJECTED"
# When a connection names no updated_since, orders updated in the last 30 days are read.
DEFAULT_ORDERS_LOOKBACK = timedelta(days=30)
# Pages of a parent's variation children read when archiving (20 each).
MAX_CHILD_PAGES = 10


@dataclass(frozen=True)
class LwaApp:
    """The SP-API application's LWA client (config: AMAZON_LWA_CLIENT_ID/SECRET)."""

    client_id: str
    client_secret: str


@dataclass(frozen=True)
class Seller:
    """Who and where: the selling partner, the marketplace OmniStock sells in, its currency."""

    seller_id: str
    marketplace_id: str
    currency: str


class AmazonClient(ChannelClient):
    """One connection's SP-API operations for one RPC (plain values in and out)."""

    def __init__(
        self,
        http: ChannelHttpClient,
        *,
        app: LwaApp,
        token_url: str,
        seller: Seller,
        access_token: str,
        refresh_token: str,
        sleep: Callable[[float], None] = time.sleep,
        feed_wait: float = 15.0,
        feed_poll: float = 2.0,
    ) -> None:
        self.http = http
        # How long a push waits for a feed to be processed, and between two getFeed polls.
        self.feed_wait, self.feed_poll = feed_wait, feed_poll
        self.app = app
        self.token_url = token_url
        self.seller = seller
        self._access_token = access_token
        self._refresh_token = refresh_token
        self._base_key = http.bucket_key
        self.sleep = sleep
        # The grant of a refresh made during this RPC (the servicer returns it).
        self.refreshed: p.TokenGrant | None = None

    # -- envelope ---------------------------------------------------------------------------

    def send(
        self,
        operation: str,
        method: str,
        url: str,
        *,
        signed: bool = True,
        idempotent: bool = True,
        **kwargs: Any,
    ) -> httpx.Response:
        """One request in `operation`'s bucket (no refresh, no status check)."""
        self.http.bucket_key = f"{self._base_key}:{operation}"
        headers = dict(kwargs.pop("headers", None) or {})
        if signed:
            headers[p.ACCESS_TOKEN_HEADER] = self._access_token
        return self.http.request(method, url, headers=headers, idempotent=idempotent, **kwargs)

    def call(self, operation: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """An SP-API call with the refresh-once rule (module doc); 401/403 left are raised."""
        response = self.send(operation, method, path, **kwargs)
        if p.is_token_rejected(response.status_code, _json(response)) and self._can_refresh():
            self.refresh_access_token()
            response = self.send(operation, method, path, **kwargs)
        if response.status_code in (401, 403):
            raise Unauthenticated(
                f"{operation}: Amazon denied access ({p.error_summary(_json(response)) or response.status_code});"
                " re-authorize the seller (or grant the app the missing role)",
                reason=CREDENTIALS_REVOKED,
            )
        return response

    def _can_refresh(self) -> bool:
        return bool(self._refresh_token) and self.refreshed is None

    def check(self, response: httpx.Response, what: str, ok: Sequence[int] = (200,)) -> Any:
        """The JSON of an expected answer, else the contract's error with Amazon's words."""
        status = response.status_code
        if status in ok:
            return _json(response)
        summary = p.error_summary(_json(response)) or f"HTTP {status}"
        if status == 429:
            raise ResourceExhausted(f"{what}: {summary}", reason=RATE_LIMITED, retry_after=1.0)
        if status >= 500:
            raise Unavailable(f"{what}: Amazon error HTTP {status}", reason=CHANNEL_UNAVAILABLE)
        if status == 404:
            raise NotFound(f"{what}: {summary}")
        raise FailedPrecondition(f"{what}: {summary}", reason=CHANNEL_REJECTED)

    # -- LWA -------------------------------------------------------------------------------

    def exchange_code(self, code: str, redirect_uri: str) -> p.TokenGrant:
        form = p.code_exchange_form(self.app.client_id, self.app.client_secret, code, redirect_uri)
        response = self.send("lwaToken", "POST", self.token_url, data=form, signed=False, idempotent=False)
        if response.status_code in (400, 401, 403):
            raise FailedPrecondition(
                "Amazon refused the authorization code (expired, already used, or another app's)",
                reason=AUTHORIZATION_CODE_REJECTED,
            )
        return self._grant(response, "code exchange")

    def refresh_access_token(self) -> p.TokenGrant:
        """grant_type=refresh_token; the refresh token stays (LWA does not rotate it)."""
        form = p.refresh_form(self.app.client_id, self.app.client_secret, self._refresh_token)
        response = self.send("lwaToken", "POST", self.token_url, data=form, signed=False)
        if response.status_code in (400, 401, 403) and p.is_invalid_grant(
            response.status_code, _json(response)
        ):
            raise Unauthenticated(
                "Amazon refused the refresh token (invalid_grant); the seller must re-authorize the app",
                reason=CREDENTIALS_REVOKED,
            )
        grant = self._grant(response, "token refresh")
        self._access_token, self.refreshed = grant.access_token, grant
        return grant

    def _grant(self, response: httpx.Response, what: str) -> p.TokenGrant:
        self.check(response, what)
        try:
            return p.parse_token_response(_json(response) or {})
        except ValueError as exc:
            raise FailedPrecondition(f"{what}: {exc}", reason=CHANNEL_REJECTED) from None

    # -- sellers ---------------------------------------------------------------------------

    def marketplaces(self) -> list[p.Marketplace]:
        """getMarketplaceParticipations: the marketplaces the seller takes part in."""
        body = self.check(
            self.call("getMarketplaceParticipations", "GET", p.PARTICIPATIONS_PATH), "marketplaces"
        )
        out = []
        for entry in (body or {}).get("payload") or []:
            market = entry.get("marketplace") if isinstance(entry, dict) else None
            taking_part = ((entry or {}).get("participation") or {}).get("isParticipating", True)
            if isinstance(market, dict) and market.get("id") and taking_part:
                out.append(
                    p.Marketplace(
                        safe_code(str(market["id"])),
                        safe_code(str(market.get("countryCode") or ""))[:2],
                        safe_code(str(market.get("defaultCurrencyCode") or ""))[:3],
                        safe_text(str(market.get("name") or ""), 100),
                    )
                )
        return out

    # -- listings read back ----------------------------------------------------------------

    def listings_by_sku(self, skus: Sequence[str]) -> dict[str, p.ListingView]:
        """searchListingsItems by SKU identifiers, 20 per call (quantity and offers included)."""
        views: dict[str, p.ListingView] = {}
        unique = list(dict.fromkeys(s for s in skus if s))
        for chunk in p.chunked(unique, p.MAX_IDENTIFIERS):
            body = self.check(
                self.call(
                    "searchListingsItems",
                    "GET",
                    p.search_path(self.seller.seller_id),
                    params={
                        "marketplaceIds": self.seller.marketplace_id,
                        "identifiers": ",".join(chunk),
                        "identifiersType": "SKU",
                        "includedData": "summaries,fulfillmentAvailability,offers",
                        "pageSize": p.MAX_LISTINGS_PAGE,
                    },
                ),
                "searchListingsItems",
            )
            for item in (body or {}).get("items") or []:
                view = p.listing_view(item, self.seller.marketplace_id)
                if view is not None:
                    views[view.sku] = view
        return views

    def list_listings(self, *, cursor: str, limit: int) -> tuple[list[p.RemoteProductData], str]:
        """One page of the seller's listings (searchListingsItems, pageToken paging); variation
        parents are left out (not buyable: a SKU mapped to one could never sell)."""
        params: dict[str, Any] = {
            "marketplaceIds": self.seller.marketplace_id,
            "includedData": "summaries,fulfillmentAvailability,relationships",
            "pageSize": max(1, min(limit or p.MAX_LISTINGS_PAGE, p.MAX_LISTINGS_PAGE)),
        }
        if cursor:
            params["pageToken"] = cursor
        body = self.check(
            self.call("searchListingsItems", "GET", p.search_path(self.seller.seller_id), params=params),
            "searchListingsItems",
        )
        products = []
        for item in (body or {}).get("items") or []:
            product = (
                p.remote_product(item, self.seller.seller_id, self.seller.marketplace_id)
                if isinstance(item, dict) and not ci.is_variation_parent(item, self.seller.marketplace_id)
                else None
            )
            if product is not None:
                products.append(product)
        next_token = str(((body or {}).get("pagination") or {}).get("nextToken") or "")
        return products, next_token

    def list_catalog(self, *, cursor: str, limit: int) -> tuple[list[ci.CatalogProductData], str]:
        """One page of listings (searchListingsItems with attributes and relationships, pageToken
        paging) grouped into whole products (protocol.catalog_import)."""
        params: dict[str, Any] = {
            "marketplaceIds": self.seller.marketplace_id,
            "includedData": ci.INCLUDED_DATA,
            "pageSize": max(1, min(limit or p.MAX_LISTINGS_PAGE, p.MAX_LISTINGS_PAGE)),
        }
        if cursor:
            params["pageToken"] = cursor
        body = self.check(
            self.call("searchListingsItems", "GET", p.search_path(self.seller.seller_id), params=params),
            "searchListingsItems",
        )
        items = [i for i in (body or {}).get("items") or [] if isinstance(i, dict)]
        next_token = str(((body or {}).get("pagination") or {}).get("nextToken") or "")
        return ci.catalog_products(items, self.seller.seller_id, self.seller.marketplace_id), next_token

    def variation_children(self, parent_sku: str) -> list[str]:
        """The SKUs of a parent's variation children (searchListingsItems?variationParentSku,
        every page up to MAX_CHILD_PAGES)."""
        skus: list[str] = []
        params: dict[str, Any] = {
            "marketplaceIds": self.seller.marketplace_id,
            "variationParentSku": parent_sku,
            "includedData": "summaries",
            "pageSize": p.MAX_LISTINGS_PAGE,
        }
        for _ in range(MAX_CHILD_PAGES):
            body = self.check(
                self.call("searchListingsItems", "GET", p.search_path(self.seller.seller_id), params=params),
                "searchListingsItems",
            )
            skus += [
                str(i["sku"]) for i in (body or {}).get("items") or [] if isinstance(i, dict) and i.get("sku")
            ]
            token = ((body or {}).get("pagination") or {}).get("nextToken")
            if not token:
                break
            params = {**params, "pageToken": token}
        return skus

    # -- orders ----------------------------------------------------------------------------

    def fetch_orders(
        self, *, since: datetime | None, cursor: str, limit: int
    ) -> tuple[list[p.OrderData], str]:
        """One getOrders page (LastUpdatedAfter, NextToken) with every order's items."""
        params: dict[str, Any] = {"MarketplaceIds": self.seller.marketplace_id}
        if cursor:
            params["NextToken"] = cursor
        else:
            start = since or datetime.now(UTC) - DEFAULT_ORDERS_LOOKBACK
            params["LastUpdatedAfter"] = start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            params["MaxResultsPerPage"] = max(1, min(limit or p.MAX_ORDERS_PAGE, p.MAX_ORDERS_PAGE))
        body = self.check(self.call("getOrders", "GET", p.ORDERS_PATH, params=params), "getOrders")
        payload = (body or {}).get("payload") or {}
        orders = []
        for order in payload.get("Orders") or []:
            if isinstance(order, dict) and p.is_order_id(str(order.get("AmazonOrderId") or "")):
                orders.append(p.order_data(order, self.order_items(str(order["AmazonOrderId"]))))
        return orders, str(payload.get("NextToken") or "")

    def get_order(self, order_id: str) -> dict[str, Any]:
        """getOrder: the order's own fields (OrderStatus among them)."""
        body = self.check(self.call("getOrder", "GET", p.order_path(order_id)), f"order {order_id}")
        payload = (body or {}).get("payload")
        if not isinstance(payload, dict):
            raise FailedPrecondition(f"getOrder gave no order {order_id}", reason=CHANNEL_REJECTED)
        return payload

    def order_items(self, order_id: str) -> list[dict[str, Any]]:
        """getOrderItems with its NextToken pages (never a silently truncated order)."""
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {}
        for _ in range(p.MAX_ORDER_ITEM_PAGES):
            response = self.call("getOrderItems", "GET", p.order_items_path(order_id), params=params)
            payload = (self.check(response, f"order {order_id} items") or {}).get("payload") or {}
            items.extend(i for i in payload.get("OrderItems") or [] if isinstance(i, dict))
            token = payload.get("NextToken")
            if not token:
                return items
            params = {"NextToken": token}
        raise FailedPrecondition(
            f"order {order_id} has more items than OmniStock reads", reason=CHANNEL_REJECTED
        )

    def confirm_shipment(
        self, order_id: str, lines: Sequence[p.FulfillmentLineInput], *, carrier: str, tracking_number: str
    ) -> str:
        """confirmShipment (MFN) for the requested lines (none: everything unshipped); returns
        "<orderId>/<packageReferenceId>". The package id is derived from the tracking number, so a
        retry after a lost answer finds the items shipped and answers the same id."""
        package = p.package_reference_id(order_id, tracking_number)
        external_id = f"{order_id}/{package}"
        items = self.order_items(order_id)
        wanted = [(line.external_line_id, line.sku, line.quantity) for line in lines]
        chosen, problem = p.shipment_items(items, wanted)
        if not chosen:
            if "already shipped" in problem and tracking_number:
                return external_id
            raise FailedPrecondition(f"order {order_id}: {problem}", reason=p.NOTHING_TO_SHIP)
        body = p.confirm_shipment_body(
            self.seller.marketplace_id,
            package_reference_id=package,
            carrier=carrier,
            tracking_number=tracking_number,
            ship_date=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            order_items=chosen,
        )
        response = self.call(
            "confirmShipment", "POST", p.shipment_confirmation_path(order_id), json=body, idempotent=False
        )
        self.check(response, "confirmShipment", ok=(204, 200))
        return external_id


def _json(response: httpx.Response) -> Any:
    try:
        return response.json() if response.content else None
    except ValueError:
        return None


@dataclass(frozen=True)
class ClientFactory:
    """Builds the AmazonClient of one RPC from the connection's region, seller and tokens."""

    http: ChannelHttpFactory
    app: LwaApp
    feed_wait: float = 15.0
    feed_poll: float = 2.0

    def region(self, connection: Any) -> str:
        region = p.region_of(connection.settings.get("region", ""))
        if not region:
            raise InvalidArgument(
                "region must be one of na, eu, fe",
                violations=[FieldViolation("connection.settings.region", "one of na, eu, fe")],
            )
        return region

    def base_url(self, connection: Any) -> str:
        """The regional SP-API host, or the allowed `api_base_url` in its place."""
        derived = p.REGION_HOSTS[self.region(connection)]
        return channel_base_url(connection, derived, self.http.egress, identity="region")

    def moved(self, connection: Any, url: str) -> str:
        """An Amazon URL (LWA, consent) under `api_base_url`'s scheme, host and port, if set
        (base_url has checked it against the egress rules)."""
        self.base_url(connection)
        return with_api_base_url(url, str(connection.settings.get("api_base_url", "")))

    def consent_base(self, connection: Any) -> str:
        return self.moved(connection, p.CONSENT_URLS[self.region(connection)])

    @contextmanager
    def open(self, connection: Any, *, token: str | None = None) -> Iterator[AmazonClient]:
        """An AmazonClient for this call; `token` overrides the stored access token ("" = none:
        LWA calls only)."""
        access = require_secret(connection, "access_token") if token is None else token
        settings = connection.settings
        seller = Seller(
            settings.get("seller_id", "") or settings.get("store_id", ""),
            settings.get("marketplace_id", ""),
            settings.get("currency", ""),
        )
        refresh = connection.credentials.secrets.get("refresh_token", "")
        token_url = self.moved(connection, p.LWA_TOKEN_URL)
        with self.http.open(connection, self.base_url(connection)) as http:
            yield AmazonClient(
                http,
                app=self.app,
                token_url=token_url,
                seller=seller,
                access_token=access,
                refresh_token=refresh,
                sleep=self.http.sleep or time.sleep,
                feed_wait=self.feed_wait,
                feed_poll=self.feed_poll,
            )


def require_seller(client: AmazonClient) -> Seller:
    """The seller and marketplace a listing or order call needs (ExchangeCode learnt them)."""
    missing = [
        name
        for name, value in (
            ("seller_id", client.seller.seller_id),
            ("marketplace_id", client.seller.marketplace_id),
        )
        if not value
    ]
    if missing:
        raise InvalidArgument(
            f"connection settings {', '.join(missing)} are required",
            violations=[FieldViolation(f"connection.settings.{name}", "required") for name in missing],
        )
    return client.seller
