"""One Amazon SP-API sandbox instance: settings, the seller's state, LWA tokens, usage plans, and
the guard every API route passes (token, throttling, faults, call counts).

Vendor facts (CHANNELS.md section 5, checked against amzn/selling-partner-api-models):
- calls carry `x-amz-access-token`; a bad or expired token is 403 `Unauthorized` in the error
  envelope `{"errors":[{"code","message","details"}]}` (models' Error/ErrorList definitions);
- every operation has its own usage plan (token bucket: rate per second, burst), reported in the
  `x-amzn-RateLimit-Limit` response header; an empty bucket is 429 `QuotaExceeded`.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Any

from flask import Response, request

from channel_sandboxes.amazon.state import MARKETPLACES, AmazonState, decimal_price
from channel_sandboxes.common import json_response, utcnow
from channel_sandboxes.control import SandboxBase, SeedConflict
from channel_sandboxes.demo import DEMO_CATALOGUE

# Usage plans (rate per second, burst) from the operations' descriptions in the models
# (amzn/selling-partner-api-models: listingsItems_2021-08-01.json, ordersV0.json,
# feeds_2021-06-30.json, sellers.json).
USAGE_PLANS: dict[str, tuple[float, int]] = {
    "getListingsItem": (5.0, 10),
    "patchListingsItem": (5.0, 5),
    "putListingsItem": (5.0, 10),
    "deleteListingsItem": (5.0, 5),
    "searchListingsItems": (5.0, 5),
    "getOrders": (0.0167, 20),
    "getOrderItems": (0.5, 30),
    "getOrder": (0.5, 30),
    "confirmShipment": (2.0, 10),
    "createFeedDocument": (0.5, 15),
    "createFeed": (0.0083, 15),
    "getFeed": (2.0, 15),
    "getFeedDocument": (0.0222, 10),
    "getMarketplaceParticipations": (0.016, 15),
}


@dataclass
class AmazonConfig:
    """Settings of one sandbox seller; `from_env` reads the variables `make run` exports."""

    # The app's LWA credentials and application id (the connector's AMAZON_* defaults).
    client_id: str = "amzn1.application-oa2-client.sandbox0000000000000000000"
    client_secret: str = "sandbox-amazon-lwa-client-secret"
    app_id: str = "amzn1.sp.solution.sandbox-0000-0000-0000-000000000000"
    seller_id: str = "A1SANDBOXSELLER"
    # Comma-separated marketplace ids the seller participates in; orders use the first.
    marketplaces: str = "ATVPDKIKX0DER"
    token_ttl: int = 3600
    # Usage-plan rates are multiplied by this (1 = Amazon's defaults; tests and demos go faster).
    rate_scale: float = 1.0
    # getFeed polls a feed goes through (IN_QUEUE → IN_PROGRESS → DONE) before it is DONE.
    feed_polls: int = 2
    # Order items per getOrderItems page (Amazon pages large orders with NextToken).
    order_items_page: int = 30
    demo: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AmazonConfig:
        env = os.environ if environ is None else environ
        base = cls()
        return cls(
            client_id=env.get("AMAZON_LWA_CLIENT_ID", base.client_id),
            client_secret=env.get("AMAZON_LWA_CLIENT_SECRET", base.client_secret),
            app_id=env.get("AMAZON_APP_ID", base.app_id),
            seller_id=env.get("AMAZON_SANDBOX_SELLER_ID", base.seller_id),
            marketplaces=env.get("AMAZON_SANDBOX_MARKETPLACES", base.marketplaces),
            token_ttl=int(env.get("AMAZON_SANDBOX_TOKEN_TTL", base.token_ttl)),
            rate_scale=float(env.get("AMAZON_SANDBOX_RATE_SCALE", base.rate_scale)),
            demo=env.get("AMAZON_SANDBOX_DEMO", "") in ("1", "true", "yes"),
        )

    @property
    def marketplace_ids(self) -> list[str]:
        ids = [m.strip() for m in self.marketplaces.split(",") if m.strip()]
        unknown = [m for m in ids if m not in MARKETPLACES]
        if not ids or unknown:
            raise ValueError(f"marketplaces must be known marketplace ids, not {unknown or ids}")
        return ids


class UsageBuckets:
    """A token bucket per operation, as Amazon keeps per (selling partner, app, operation)."""

    def __init__(self, scale: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self.scale = scale
        self._state: dict[str, tuple[float, float]] = {}

    def rate(self, operation: str) -> float:
        return USAGE_PLANS.get(operation, (10.0, 10))[0] * self.scale

    def take(self, operation: str) -> bool:
        rate, burst = self.rate(operation), float(USAGE_PLANS.get(operation, (10.0, 10))[1])
        with self._lock:
            now = self._clock()
            tokens, ts = self._state.get(operation, (burst, now))
            tokens = min(burst, tokens + (now - ts) * rate)
            if tokens < 1.0:
                self._state[operation] = (tokens, now)
                return False
            self._state[operation] = (tokens - 1.0, now)
            return True

    def reset(self) -> None:
        with self._lock:
            self._state.clear()


def sp_error(status: int, code: str, message: str, details: str = "", **headers: str) -> Response:
    """The SP-API error envelope: `{"errors":[{"code","message","details"}]}`."""
    error = {"code": code, "message": message}
    if details:
        error["details"] = details
    return json_response({"errors": [error]}, status, {"x-amzn-RequestId": str(uuid.uuid4()), **headers})


class AmazonSandbox(SandboxBase):
    """State + machinery of one sandbox seller; the Flask routes are thin wrappers around it."""

    def __init__(self, config: AmazonConfig) -> None:
        super().__init__("Amazon")  # no HTTP webhooks: SP-API notifies through SQS/EventBridge
        self.config = config
        self.state = AmazonState(config.seller_id, config.marketplace_ids)
        self.buckets = UsageBuckets(config.rate_scale)
        self._throttle_lock = threading.Lock()
        self.throttle_next = 0
        if config.demo:
            self.seed([dict(item) for item in DEMO_CATALOGUE])

    # -- LWA -----------------------------------------------------------------------------------

    def issue_tokens(self, refresh_token: str = "") -> dict[str, Any]:
        """A token response; a refresh keeps the (long-lived) refresh token."""
        access = "Atza|" + secrets.token_urlsafe(24)
        refresh = refresh_token or "Atzr|" + secrets.token_urlsafe(32)
        with self.state.lock:
            self.state.access_tokens[access] = utcnow() + timedelta(seconds=self.config.token_ttl)
            self.state.refresh_tokens.add(refresh)
        return {
            "access_token": access,
            "refresh_token": refresh,
            "token_type": "bearer",
            "expires_in": self.config.token_ttl,
        }

    def expire_tokens(self) -> int:
        with self.state.lock:
            past = utcnow() - timedelta(seconds=1)
            for token in self.state.access_tokens:
                self.state.access_tokens[token] = past
            return len(self.state.access_tokens)

    def token_problem(self) -> str:
        token = request.headers.get("x-amz-access-token", "")
        with self.state.lock:
            expires = self.state.access_tokens.get(token)
        if not token or expires is None:
            return "The access token you provided is revoked, malformed or invalid."
        if expires <= utcnow():
            return "The access token you provided has expired."
        return ""

    # -- the API guard -------------------------------------------------------------------------

    def api(self, operation: str) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
        """Decorate an SP-API route: count it, apply faults, forced throttling, the token check
        and the operation's usage plan; add `x-amzn-RateLimit-Limit` and `x-amzn-RequestId`."""

        def decorate(view: Callable[..., Response]) -> Callable[..., Response]:
            @wraps(view)
            def guarded(*args: Any, **kwargs: Any) -> Response:
                self.stats.record([operation])
                limit = {"x-amzn-RateLimit-Limit": f"{self.buckets.rate(operation):g}"}
                fault = self.faults.take([operation])
                if fault is not None:
                    self.stats.bump("throttled" if fault.status == 429 else "faulted")
                    extra = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after else {}
                    if fault.status == 429:
                        return sp_error(
                            429,
                            "QuotaExceeded",
                            "You exceeded your quota for the requested resource.",
                            **extra,
                        )
                    return sp_error(
                        fault.status,
                        "InternalFailure",
                        "We encountered an internal error. Please try again.",
                        **extra,
                    )
                with self._throttle_lock:
                    forced = self.throttle_next > 0
                    if forced:
                        self.throttle_next -= 1
                if forced:
                    self.stats.bump("throttled")
                    return sp_error(
                        429, "QuotaExceeded", "You exceeded your quota for the requested resource.", **limit
                    )
                problem = self.token_problem()
                if problem:
                    self.stats.bump("unauthorized")
                    return sp_error(403, "Unauthorized", "Access to requested resource is denied.", problem)
                if not self.buckets.take(operation):
                    self.stats.bump("throttled")
                    return sp_error(
                        429, "QuotaExceeded", "You exceeded your quota for the requested resource.", **limit
                    )
                response = view(*args, **kwargs)
                response.headers.update({**limit, "x-amzn-RequestId": str(uuid.uuid4())})
                return response

            return guarded

        return decorate

    def check_seller(self, seller_id: str) -> Response | None:
        if seller_id != self.config.seller_id:
            return sp_error(
                403,
                "Unauthorized",
                "Access to requested resource is denied.",
                "The seller is not the one that authorized this token.",
            )
        return None

    def check_listings_call(self, seller_id: str) -> Response | None:
        """A Listings Items call's refusal: another seller in the path, or marketplaceIds missing
        or naming one the seller does not sell in."""
        return self.check_seller(seller_id) or self.check_marketplaces(request.args.get("marketplaceIds"))

    def check_marketplaces(self, raw: str | None) -> Response | None:
        ids = [m for m in (raw or "").split(",") if m]
        if not ids:
            return sp_error(400, "InvalidInput", "Missing required 'marketplaceIds'.")
        if any(m not in self.state.marketplace_ids for m in ids):
            return sp_error(400, "InvalidInput", f"Invalid 'marketplaceIds' provided: {raw}.")
        return None

    # -- SandboxBase ---------------------------------------------------------------------------

    def reset_state(self) -> None:
        with self.state.lock:
            self.state.reset()
        self.buckets.reset()
        with self._throttle_lock:
            self.throttle_next = 0

    def describe_config(self) -> dict[str, Any]:
        cfg = self.config
        base = request.host_url.rstrip("/")
        return {
            "channel": "amazon",
            "base_url": base,
            "client_id": cfg.client_id,
            "app_id": cfg.app_id,
            "seller_id": cfg.seller_id,
            "marketplace_ids": cfg.marketplace_ids,
            "marketplace_id": cfg.marketplace_ids[0],
            "currency": self.state.currency,
            "token_url": base + "/auth/o2/token",
            "consent_url": base + "/apps/authorize/consent",
            "token_ttl": cfg.token_ttl,
            "rate_scale": cfg.rate_scale,
            "usage_plans": {op: {"rate": r, "burst": b} for op, (r, b) in USAGE_PLANS.items()},
            "feed_polls": cfg.feed_polls,
        }

    def has_sku(self, sku: str) -> bool:
        with self.state.lock:
            return sku in self.state.listings

    def seed(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        try:
            with self.state.lock:
                for item in items:
                    listing = self.state.add_listing(
                        str(item["sku"]),
                        str(item.get("title") or item["sku"]),
                        int(item.get("quantity", 0)),
                        item.get("price", "0"),
                    )
                    out.append(self._seeded(listing))
        except ValueError as exc:
            raise SeedConflict(str(exc)) from exc
        return out

    def _seeded(self, listing: Any) -> dict[str, Any]:
        return {
            "sku": listing.sku,
            "seller_id": self.config.seller_id,
            "asin": listing.asin,
            "quantity": listing.quantity,
            "price": format(listing.price, "f"),
        }

    def seed_catalog(self, products: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Every variant with a SKU becomes a listing; a product with several becomes a variation
        family: a parent listing (SKU `parent_sku`, else the SKUs' common prefix) whose theme is
        the option names, its children naming it."""
        out = []
        with self.state.lock:
            for product in products:
                variants, family = [], _family(product)
                for variant in product.get("variants") or []:
                    sku = str(variant.get("sku") or "")
                    if not sku:
                        variants.append({"sku": "", "variant_id": ""})
                        continue
                    try:
                        listing = self.state.add_listing(
                            sku,
                            str(product["title"]),
                            int(variant.get("quantity", 0)),
                            variant.get("price", "0"),
                        )
                    except ValueError as exc:
                        raise SeedConflict(str(exc)) from exc
                    _facts(listing, product, variant)
                    listing.parent_sku = family[0] if family else ""
                    variants.append({"sku": sku, "variant_id": listing.asin})
                product_id = variants[0]["variant_id"] if variants else ""
                if family:
                    parent_sku, theme = family
                    try:
                        parent = self.state.add_listing(parent_sku, str(product["title"]), 0, "0")
                    except ValueError as exc:
                        raise SeedConflict(str(exc)) from exc
                    _facts(parent, product, {})
                    parent.theme, product_id = theme, parent.asin
                out.append({"title": product["title"], "product_id": product_id, "variants": variants})
        return out

    def catalog_view(self) -> list[dict[str, Any]]:
        """Products as Seller Central groups them: a family under its parent, others alone."""
        with self.state.lock:
            listings = self.state.listings
            out = []
            for listing in listings.values():
                if listing.parent_sku and listing.parent_sku in listings:
                    continue
                members = self.state.children(listing.sku) if listing.is_parent else [listing]
                out.append(
                    {
                        "product_id": listing.asin,
                        "sku": listing.sku,
                        "title": listing.title,
                        "description": listing.description,
                        "status": "BUYABLE" if any(m.quantity > 0 for m in members) else "DISCOVERABLE",
                        "images": list(listing.images),
                        "variants": [
                            {
                                "sku": m.sku,
                                "variant_id": m.asin,
                                "price": format(m.price, "f"),
                                "options": dict(m.options),
                            }
                            for m in members
                        ],
                    }
                )
            return out

    def set_stock(self, sku: str, quantity: int) -> list[Any] | None:
        with self.state.lock:
            listing = self.state.listings.get(sku)
            if listing is None:
                return None
            listing.quantity = quantity
            listing.updated = utcnow()
        return []

    def stock_by_sku(self) -> dict[str, int]:
        """Buyable listings only (a variation parent has no quantity)."""
        with self.state.lock:
            return {sku: x.quantity for sku, x in self.state.listings.items() if not x.is_parent}

    def prices_by_sku(self) -> dict[str, dict[str, str | None]]:
        with self.state.lock:
            return {
                sku: {"price": format(x.price, "f"), "compare_at_price": None}
                for sku, x in self.state.listings.items()
                if not x.is_parent
            }

    def price_writes_by_sku(self) -> dict[str, int]:
        with self.state.lock:
            return dict(self.state.price_writes)

    def set_price(self, sku: str, price: str, compare_at_price: str | None) -> bool:
        """Amazon's list price ("was" price) is not simulated: `compare_at_price` is ignored."""
        value = decimal_price(price)
        with self.state.lock:
            listing = self.state.listings.get(sku)
            if listing is None:
                return False
            listing.price = value
            return True


def _family(product: dict[str, Any]) -> tuple[str, list[str]] | None:
    """(parent SKU, theme attributes) of a product with several SKUs; None for one."""
    skus = [str(v.get("sku") or "") for v in product.get("variants") or [] if v.get("sku")]
    if len(skus) < 2:
        return None
    parent = str(product.get("parent_sku") or "") or _common_prefix(skus).rstrip("-_ ")
    if not parent or parent in skus:
        parent = f"{skus[0]}-PARENT"
    names: list[str] = []
    for variant in product.get("variants") or []:
        for name in (variant.get("options") or {}) if isinstance(variant.get("options"), dict) else {}:
            if name.lower() not in names:
                names.append(name.lower())
    return parent, names or ["size"]


def _common_prefix(words: list[str]) -> str:
    first, last = min(words), max(words)
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    return first[:n]


def _facts(listing: Any, product: dict[str, Any], variant: dict[str, Any]) -> None:
    """Seeded product facts (brand, description, images, barcode, options) on a listing."""
    listing.brand = str(product.get("vendor") or "")
    listing.description = str(product.get("description") or "")
    listing.images = [str(u) for u in product.get("images") or []]
    listing.barcode = str(variant.get("barcode") or "")
    options = variant.get("options")
    if isinstance(options, dict):
        listing.options = {str(k).lower(): str(v) for k, v in options.items()}
