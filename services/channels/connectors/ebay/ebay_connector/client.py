"""eBay operations over the shared ChannelHttpClient (Sell Inventory v1, Sell Fulfillment v1,
Commerce Identity v1, Commerce Notification v1, OAuth).

Everything HTTP-level (bucket, retries with backoff on 429/5xx, Retry-After, egress guard)
happens in omnistock_connector_kit.channel_http; a 429 that outlives the retries leaves as
RESOURCE_EXHAUSTED with retry_after (connector_base.map_channel_error).

Refresh: eBay answers an expired user token with 401 errorId 1001 ("Invalid access token",
CHANNELS.md 0.1/6.1). Unlike Shopify's rotating refresh tokens, eBay's refresh grant issues no
new refresh token (eBay/ebay-oauth-python-client), so refreshing inside a call races nobody: the
client refreshes once, retries once and keeps the grant in `refreshed`, which the servicer returns
as `refreshed_credentials` for the channels service to persist. A second 401, or a refusal of the
refresh token (invalid_grant), is UNAUTHENTICATED.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from ebay_connector import protocol as p
from ebay_connector.protocol import cancel as pc
from ebay_connector.protocol import catalog_import as ci
from ebay_connector.protocol import publish as pub
from omnistock_common.egress import safe_code, safe_text
from omnistock_common.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Unauthenticated,
)
from omnistock_connector_kit.channel_http import ChannelHttpClient
from omnistock_connector_kit.clients import ChannelClient, ChannelHttpFactory
from omnistock_connector_kit.connector_base import (
    CHANNEL_REJECTED,
    CREDENTIALS_REVOKED,
    channel_base_url,
    check_response,
)

log = logging.getLogger(__name__)

AUTHORIZATION_CODE_REJECTED = "AUTHORIZATION_CODE_REJECTED"
ORDER_CANCEL_REFUSED = "ORDER_CANCEL_REFUSED"
INVALID_ACCESS_TOKEN = 1001


class ChannelRefusal(FailedPrecondition):
    """eBay refused a publishing call (4xx other than 401/403/429) with these words: the product
    is REJECTED, asking again will not change eBay's mind."""

    def __init__(self, message: str) -> None:
        super().__init__(message, reason=CHANNEL_REJECTED)


@dataclass(frozen=True)
class AppCredentials:
    client_id: str
    client_secret: str
    ru_name: str
    scopes: tuple[str, ...]


def error_ids(response: httpx.Response) -> set[int]:
    """eBay's REST error ids of an answer ({"errors":[{"errorId":1001,...}]})."""
    try:
        body = response.json()
    except ValueError:
        return set()
    out = set()
    for error in (body.get("errors") if isinstance(body, Mapping) else None) or []:
        try:
            out.add(int(error.get("errorId")))
        except (AttributeError, TypeError, ValueError):
            continue
    return out


def _json(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise FailedPrecondition(f"{what}: eBay answered with non-JSON", reason=CHANNEL_REJECTED) from None
    if not isinstance(body, dict):
        raise FailedPrecondition(f"{what}: eBay answered with a non-object", reason=CHANNEL_REJECTED)
    return body


class EbayClient(ChannelClient):
    """One connection's eBay operations on one host; `token` is the user's access token."""

    def __init__(
        self,
        http: ChannelHttpClient,
        app: AppCredentials,
        *,
        token: str,
        refresh_token: str,
        scopes: Sequence[str],
    ) -> None:
        self.http = http
        self.app = app
        self.token = token
        self.refresh_token = refresh_token
        self.scopes = tuple(scopes) or app.scopes
        # The grant of a refresh made during this call, for refreshed_credentials.
        self.refreshed: p.TokenGrant | None = None

    # -- envelope ---------------------------------------------------------------------------

    def api(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        what: str,
        idempotent: bool = True,
        headers: Mapping[str, str] | None = None,
        iaf: bool = False,
    ) -> httpx.Response:
        """One Bearer call (`iaf`: the Post-Order API's "IAF <token>" form); on 401 errorId 1001
        with a refresh token: refresh once, retry once."""
        extra = {**(headers or {}), **({"_iaf": "1"} if iaf else {})}
        response = self._send(method, path, json=json, idempotent=idempotent, extra=extra)
        ids = error_ids(response) if response.status_code == 401 else set()
        if (
            response.status_code == 401
            and self.refresh_token
            and self.refreshed is None
            and (INVALID_ACCESS_TOKEN in ids or not ids)
        ):
            self.refreshed = self.refresh(self.refresh_token)
            self.token = self.refreshed.access_token
            response = self._send(method, path, json=json, idempotent=idempotent, extra=extra)
        if response.status_code == 401:
            raise Unauthenticated(f"{what}: eBay rejected the access token", reason=CREDENTIALS_REVOKED)
        return response

    def _send(
        self, method: str, path: str, *, json: Any, idempotent: bool, extra: Mapping[str, str]
    ) -> httpx.Response:
        auth = pc.iaf_authorization(self.token) if extra.get("_iaf") else f"Bearer {self.token}"
        headers = {"Authorization": auth, "Accept": "application/json"}
        headers.update({k: v for k, v in extra.items() if k != "_iaf"})
        if json is not None:
            headers["Content-Type"] = "application/json"
        return self.http.request(method, path, json=json, headers=headers, idempotent=idempotent)

    # -- OAuth -------------------------------------------------------------------------------

    def _token_call(self, form: Mapping[str, str]) -> httpx.Response:
        headers = {
            "Authorization": p.basic_auth(self.app.client_id, self.app.client_secret),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        return self.http.request("POST", p.TOKEN_PATH, data=dict(form), headers=headers, idempotent=False)

    def exchange_code(self, code: str, ru_name: str) -> p.TokenGrant:
        response = self._token_call(p.code_exchange_form(code, ru_name))
        if response.status_code in (400, 401, 403):
            raise FailedPrecondition(
                "eBay refused the authorization code (expired, already used, or another RuName)",
                reason=AUTHORIZATION_CODE_REJECTED,
            )
        check_response(response, refreshable=False, what="code exchange")
        return self._grant(response, "code exchange")

    def refresh(self, refresh_token: str) -> p.TokenGrant:
        response = self._token_call(p.refresh_form(refresh_token, self.scopes))
        if response.status_code in (400, 401, 403):
            try:
                body: Any = response.json()
            except ValueError:
                body = None
            if p.is_invalid_grant(response.status_code, body):
                reason = safe_text(str((body or {}).get("error_description") or "invalid_grant"), 200)
                raise Unauthenticated(
                    f"eBay refused the refresh token ({reason}); the seller must authorize again",
                    reason=CREDENTIALS_REVOKED,
                )
        check_response(response, refreshable=False, what="token refresh")
        return self._grant(response, "token refresh")

    def application_token(self) -> str:
        response = self._token_call(p.client_credentials_form())
        check_response(response, refreshable=False, what="application token")
        return self._grant(response, "application token").access_token

    @staticmethod
    def _grant(response: httpx.Response, what: str) -> p.TokenGrant:
        try:
            return p.parse_token_response(response.json())
        except ValueError as exc:
            raise FailedPrecondition(f"{what}: {exc}", reason=CHANNEL_REJECTED) from None

    # -- identity ----------------------------------------------------------------------------

    def seller(self) -> p.SellerIdentity:
        """getUser (Commerce Identity v1, on apiz): the seller's userId and username."""
        response = self.api("GET", p.IDENTITY_USER_PATH, what="getUser")
        check_response(response, refreshable=False, what="getUser")
        body = _json(response, "getUser")
        return p.SellerIdentity(
            user_id=safe_code(str(body.get("userId") or "")),
            username=safe_text(str(body.get("username") or ""), 100),
        )

    # -- inventory ---------------------------------------------------------------------------

    def bulk_update(self, entries: Sequence[Mapping[str, Any]]) -> list[Any]:
        """bulkUpdatePriceQuantity (≤ 25 entries): eBay's per-item `responses`."""
        if len(entries) > p.MAX_BULK_REQUESTS:
            raise InvalidArgument(f"at most {p.MAX_BULK_REQUESTS} entries per bulkUpdatePriceQuantity")
        response = self.api(
            "POST", p.BULK_PRICE_QUANTITY_PATH, json=p.bulk_body(entries), what="bulkUpdatePriceQuantity"
        )
        check_response(response, refreshable=False, what="bulkUpdatePriceQuantity")
        return list(_json(response, "bulkUpdatePriceQuantity").get("responses") or [])

    def inventory_item(self, sku: str) -> dict[str, Any] | None:
        response = self.api("GET", p.inventory_item_path(sku), what="getInventoryItem")
        if response.status_code == 404:
            return None
        check_response(response, refreshable=False, what="getInventoryItem")
        return _json(response, "getInventoryItem")

    def offers(self, sku: str, marketplace_id: str) -> list[p.OfferData]:
        query = httpx.QueryParams({"sku": sku, "marketplace_id": marketplace_id})
        response = self.api("GET", f"{p.OFFERS_PATH}?{query}", what="getOffers")
        if response.status_code in (400, 404):  # eBay: 25713 "This Offer is not available" for an unknown SKU
            return []
        check_response(response, refreshable=False, what="getOffers")
        return p.parse_offers(_json(response, "getOffers"))

    def inventory_items(self, offset: int, limit: int) -> tuple[list[Mapping[str, Any]], str]:
        response = self.api(
            "GET", f"{p.INVENTORY_ITEMS_PATH}?limit={limit}&offset={offset}", what="getInventoryItems"
        )
        check_response(response, refreshable=False, what="getInventoryItems")
        return p.inventory_page(_json(response, "getInventoryItems"), offset, limit)

    # -- publishing and the catalog import ---------------------------------------------------

    def _write(
        self, method: str, path: str, body: Any, what: str, *, language: str = "", idempotent: bool = True
    ) -> dict[str, Any]:
        """A publishing call: eBay's answer (or {} for 204), ChannelRefusal with eBay's words for a
        refusal (4xx but 401/403/429), the kit's errors otherwise."""
        headers = {"Content-Language": language} if language else None
        response = self.api(method, path, json=body, what=what, idempotent=idempotent, headers=headers)
        status = response.status_code
        if 400 <= status < 500 and status not in (401, 403, 429):
            try:
                words = pub.errors_text(response.json())
            except ValueError:
                words = ""
            raise ChannelRefusal(f"eBay refused {what}: {words or f'HTTP {status}'}")
        check_response(response, refreshable=False, what=what)
        return _json(response, what) if response.content else {}

    def put_item(self, sku: str, body: Mapping[str, Any], language: str) -> None:
        """createOrReplaceInventoryItem (204 created/replaced)."""
        self._write(
            "PUT", p.inventory_item_path(sku), body, "createOrReplaceInventoryItem", language=language
        )

    def group(self, key: str) -> dict[str, Any] | None:
        """getInventoryItemGroup, None when eBay has no such group."""
        response = self.api("GET", p.inventory_group_path(key), what="getInventoryItemGroup")
        if response.status_code in (400, 404):  # unknown key: 404 (errorId 25725 [M]), 400 for odd keys
            return None
        check_response(response, refreshable=False, what="getInventoryItemGroup")
        return _json(response, "getInventoryItemGroup")

    def put_group(self, key: str, body: Mapping[str, Any], language: str) -> None:
        self._write(
            "PUT", p.inventory_group_path(key), body, "createOrReplaceInventoryItemGroup", language=language
        )

    def offer_records(self, sku: str, marketplace_id: str) -> list[dict[str, Any]]:
        """getOffers as eBay returns them (an update replaces the whole offer, so it needs them all)."""
        query = httpx.QueryParams({"sku": sku, "marketplace_id": marketplace_id})
        response = self.api("GET", f"{p.OFFERS_PATH}?{query}", what="getOffers")
        if response.status_code in (400, 404):
            return []
        check_response(response, refreshable=False, what="getOffers")
        offers = _json(response, "getOffers").get("offers") or []
        return [o for o in offers if isinstance(o, dict) and o.get("offerId")]

    def create_offer(self, body: Mapping[str, Any], language: str) -> str:
        answer = self._write("POST", p.OFFERS_PATH, body, "createOffer", language=language, idempotent=False)
        offer_id = safe_text(str(answer.get("offerId") or ""), 64)
        if not offer_id:
            raise FailedPrecondition("eBay created an offer without an offerId", reason=CHANNEL_REJECTED)
        return offer_id

    def update_offer(self, offer_id: str, body: Mapping[str, Any], language: str) -> None:
        self._write("PUT", p.offer_path(offer_id), body, "updateOffer", language=language)

    def publish_offer(self, offer_id: str) -> str:
        """publishOffer → the listing id."""
        answer = self._write(
            "POST", p.offer_path(offer_id, "publish"), None, "publishOffer", idempotent=False
        )
        return safe_text(str(answer.get("listingId") or ""), 64)

    def publish_group(self, key: str, marketplace_id: str) -> str:
        body = {"inventoryItemGroupKey": key, "marketplaceId": marketplace_id}
        answer = self._write(
            "POST", p.PUBLISH_BY_GROUP_PATH, body, "publishOfferByInventoryItemGroup", idempotent=False
        )
        return safe_text(str(answer.get("listingId") or ""), 64)

    def withdraw_offer(self, offer_id: str) -> None:
        self._write("POST", p.offer_path(offer_id, "withdraw"), None, "withdrawOffer", idempotent=False)

    def withdraw_group(self, key: str, marketplace_id: str) -> None:
        body = {"inventoryItemGroupKey": key, "marketplaceId": marketplace_id}
        self._write(
            "POST", p.WITHDRAW_BY_GROUP_PATH, body, "withdrawOfferByInventoryItemGroup", idempotent=False
        )

    def catalog_page(
        self, offset: int, limit: int, marketplace_id: str
    ) -> tuple[list[ci.CatalogProductData], str]:
        """One getInventoryItems page as whole products: each SKU's offer and each group read too."""
        items, next_cursor = self.inventory_items(offset, limit)
        offers = {
            str(i["sku"]): p.pick_offer(self.offers(str(i["sku"]), marketplace_id), marketplace_id)
            for i in items
        }
        keys = dict.fromkeys(ci.group_of(i) for i in items if ci.group_of(i))
        groups = {key: self.group(key) for key in keys}
        return ci.catalog_products(items, offers, groups), next_cursor

    # -- cancellation (Post-Order API) ----------------------------------------------------------

    def order(self, order_id: str) -> dict[str, Any]:
        response = self.api("GET", f"{p.ORDERS_PATH}/{quote(order_id, safe='')}", what="getOrder")
        if response.status_code == 404:
            raise NotFound(f"eBay order {order_id} not found")
        check_response(response, refreshable=False, what="getOrder")
        return _json(response, "getOrder")

    def cancel(self, body: Mapping[str, Any], marketplace_id: str) -> str:
        """Create a seller cancellation; its cancelId, or FAILED_PRECONDITION with eBay's reason."""
        response = self.api(
            "POST",
            p.CANCELLATION_PATH,
            json=body,
            what="createCancellation",
            idempotent=False,
            headers={pc.MARKETPLACE_HEADER: marketplace_id},
            iaf=True,
        )
        status = response.status_code
        try:
            answer: Any = response.json()
        except ValueError:
            answer = None
        if status == 404:
            raise NotFound(f"eBay has no order {body.get('legacyOrderId')} to cancel")
        if 400 <= status < 500 and status not in (401, 403, 429):
            raise FailedPrecondition(
                f"eBay refused the cancellation: {pc.refusal(answer)}", reason=ORDER_CANCEL_REFUSED
            )
        check_response(response, refreshable=False, what="createCancellation")
        cancel_id = pc.cancel_id(answer)
        if not cancel_id:
            raise FailedPrecondition(
                f"eBay did not cancel the order: {pc.refusal(answer)}", reason=ORDER_CANCEL_REFUSED
            )
        return cancel_id

    # -- orders ------------------------------------------------------------------------------

    def orders(self, since: datetime | None, offset: int, limit: int) -> tuple[list[p.OrderData], str]:
        response = self.api(
            "GET", f"{p.ORDERS_PATH}?{p.orders_query(since, offset=offset, limit=limit)}", what="getOrders"
        )
        check_response(response, refreshable=False, what="getOrders")
        return p.orders_page(_json(response, "getOrders"), offset, limit)

    def order_lines(self, order_id: str) -> list[tuple[str, str, int]]:
        """getOrder's line items as (lineItemId, sku, quantity), to ship by SKU or whole."""
        response = self.api("GET", f"{p.ORDERS_PATH}/{quote(order_id, safe='')}", what="getOrder")
        if response.status_code == 404:
            raise NotFound(f"eBay order {order_id} not found")
        check_response(response, refreshable=False, what="getOrder")
        return [
            (str(x.get("lineItemId") or ""), str(x.get("sku") or ""), int(x.get("quantity") or 0))
            for x in _json(response, "getOrder").get("lineItems") or []
            if isinstance(x, Mapping)
        ]

    def create_fulfillment(self, order_id: str, body: Mapping[str, Any]) -> str:
        """createShippingFulfillment → 201 with Location .../shipping_fulfillment/{fulfillmentId}."""
        response = self.api(
            "POST",
            p.shipping_fulfillment_path(order_id),
            json=body,
            what="createShippingFulfillment",
            idempotent=False,
        )
        if response.status_code == 404:
            raise NotFound(f"eBay order {order_id} not found")
        if 400 <= response.status_code < 500 and response.status_code not in (401, 403, 429):
            try:
                detail = "; ".join(str(e.get("message") or "") for e in response.json().get("errors") or [])
            except (ValueError, AttributeError):
                detail = f"HTTP {response.status_code}"
            raise FailedPrecondition(
                f"eBay refused the shipping fulfillment: {safe_text(detail, 300)}", reason=CHANNEL_REJECTED
            )
        check_response(response, refreshable=False, what="createShippingFulfillment")
        fulfillment_id = p.fulfillment_id_from_location(response.headers.get("location", ""))
        if not fulfillment_id:
            raise FailedPrecondition(
                "eBay created the fulfillment without a Location", reason=CHANNEL_REJECTED
            )
        return fulfillment_id

    # -- notifications -----------------------------------------------------------------------

    def public_key(self, kid: str, app_token: str) -> dict[str, Any]:
        """getPublicKey with an application token: {algorithm, digest, key}."""
        headers = {"Authorization": f"Bearer {app_token}", "Accept": "application/json"}
        response = self.http.request("GET", p.public_key_path(kid), headers=headers)
        if response.status_code == 404:
            raise NotFound("eBay has no public key with this kid")
        check_response(response, refreshable=False, what="getPublicKey")
        return _json(response, "getPublicKey")


@dataclass(frozen=True)
class ClientFactory:
    """Builds the EbayClient of one RPC: api.ebay.com (or apiz.ebay.com for the Identity API),
    each moved by the connection's `api_base_url` only in scheme, host and port."""

    http: ChannelHttpFactory
    app: AppCredentials

    def base_url(self, connection: Any, host: str = p.API_HOST) -> str:
        return channel_base_url(connection, host, self.http.egress, identity="api_base_url")

    @contextmanager
    def open(
        self, connection: Any, *, token: str | None = None, host: str = p.API_HOST
    ) -> Iterator[EbayClient]:
        """`token` overrides the connection's access token ("" for the token endpoint only)."""
        secrets = connection.credentials.secrets
        access = secrets.get("access_token", "") if token is None else token
        if token is None and not access:
            raise Unauthenticated("the connection has no access_token", reason="CREDENTIALS_MISSING")
        refresh = secrets.get("refresh_token", "") if token is None else ""
        with self.http.open(connection, self.base_url(connection, host)) as http:
            yield EbayClient(
                http,
                self.app,
                token=access,
                refresh_token=refresh,
                scopes=list(connection.credentials.scopes),
            )
