"""Flask app of the Shopify sandbox: OAuth, the GraphQL Admin endpoint, webhooks, the control API.

One shop per instance. Vendor-facing routes keep Shopify's paths, status codes and bodies; the
`/_sandbox/*` control API is ours (stable: other components' tests drive it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, redirect, request

from channel_sandboxes.common import (
    CallStats,
    Delivery,
    FaultInjector,
    WebhookDispatcher,
    b64_hmac_sha256,
    format_retry_after,
    iso_z,
    json_response,
    parse_fault_request,
    register_common_control_routes,
    utcnow,
)
from channel_sandboxes.demo import DEMO_CATALOGUE
from channel_sandboxes.graphql_lite import GraphQLSyntaxError, parse
from channel_sandboxes.shopify.schema import (
    REQUIRED_SCOPES,
    TOPIC_ENUMS,
    WEBHOOK_TOPICS,
    ExecContext,
    GraphQLError,
    execute,
    validate_and_cost,
)
from channel_sandboxes.shopify.state import (
    API_VERSION,
    SUPPORTED_VERSIONS,
    Event,
    OAuthError,
    OrderError,
    ShopState,
    Subscription,
    gid,
)

DEFAULT_SCOPES = (
    "read_products,write_products,read_inventory,write_inventory,read_locations,read_orders,"
    "write_orders,read_merchant_managed_fulfillment_orders,write_merchant_managed_fulfillment_orders,"
    "write_fulfillments"
)
_VERSION_RE = re.compile(r"^(\d{4}-\d{2}|unstable)$")
_UNAUTHORIZED = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
_FAULT_BODIES = {
    429: "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class ShopifyConfig:
    """Settings of one sandbox shop. `from_env` reads the same variable names `make run` exports."""

    client_id: str = "sandbox-shopify-client-id"
    client_secret: str = "sandbox-shopify-client-secret"
    shop_domain: str = "omnistock-demo.myshopify.com"
    api_version: str = API_VERSION
    # Expiring offline tokens (mandatory for public apps created since 2026-04-01); 0 = non-expiring.
    token_ttl: int = 3600
    refresh_token_ttl: int = 90 * 24 * 3600
    scopes: str = DEFAULT_SCOPES
    enforce_scopes: bool = True
    # GraphQL cost bucket (CHANNELS.md 1.5: older responses show 1000; Standard restores 100/s).
    bucket_size: float = 1000.0
    restore_rate: float = 100.0
    # Shopify refuses any single query whose requested cost exceeds 1000, whatever the plan.
    max_query_cost: int = 1000
    currency: str = "USD"
    demo: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ShopifyConfig:
        env = os.environ if environ is None else environ
        base = cls()
        return cls(
            client_id=env.get("SHOPIFY_CLIENT_ID", base.client_id),
            client_secret=env.get("SHOPIFY_CLIENT_SECRET", base.client_secret),
            shop_domain=env.get("SHOPIFY_SANDBOX_SHOP", base.shop_domain),
            token_ttl=int(env.get("SHOPIFY_SANDBOX_TOKEN_TTL", base.token_ttl)),
            refresh_token_ttl=int(env.get("SHOPIFY_SANDBOX_REFRESH_TOKEN_TTL", base.refresh_token_ttl)),
            bucket_size=float(env.get("SHOPIFY_SANDBOX_BUCKET_SIZE", base.bucket_size)),
            restore_rate=float(env.get("SHOPIFY_SANDBOX_RESTORE_RATE", base.restore_rate)),
            demo=env.get("SHOPIFY_SANDBOX_DEMO", "") in ("1", "true", "yes"),
        )


def shopify_query_hmac(params: Mapping[str, Any], secret: str) -> str:
    """Shopify's OAuth query-string HMAC (CHANNELS.md 1.2), over decoded parameters."""
    pairs = []
    for key, value in params.items():
        if key in ("hmac", "signature"):
            continue
        if key.endswith("[]"):
            items = value if isinstance(value, list) else [value]
            key, value = key[:-2], json.dumps([str(x) for x in items])
        key = str(key).replace("%", "%25").replace("=", "%3D")
        value = str(value).replace("%", "%25")
        pairs.append(f"{key}={value}".replace("&", "%26"))
    message = "&".join(sorted(pairs))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


class CostBucket:
    """GraphQL Admin's leaky bucket of query-cost points, restored continuously."""

    def __init__(self, size: float, restore_rate: float) -> None:
        self._lock = threading.Lock()
        self.size = size
        self.restore_rate = restore_rate
        self._available = size
        self._stamp = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self._available = min(self.size, self._available + (now - self._stamp) * self.restore_rate)
        self._stamp = now

    def take(self, cost: int) -> bool:
        with self._lock:
            self._refill()
            if cost > self._available:
                return False
            self._available -= cost
            return True

    def refund(self, points: float) -> None:
        with self._lock:
            self._refill()
            self._available = min(self.size, self._available + points)

    def configure(self, size: float | None, restore_rate: float | None, available: float | None) -> None:
        with self._lock:
            self._refill()
            if size is not None:
                self.size = size
            if restore_rate is not None:
                self.restore_rate = restore_rate
            if available is not None:
                self._available = available
            self._available = min(self._available, self.size)

    def status(self) -> dict[str, float]:
        with self._lock:
            self._refill()
            return {
                "maximumAvailable": float(self.size),
                "currentlyAvailable": float(int(self._available)),
                "restoreRate": float(self.restore_rate),
            }


class ShopifySandbox:
    """State + machinery of one sandbox instance; the Flask routes are thin wrappers around it."""

    def __init__(self, config: ShopifyConfig) -> None:
        self.config = config
        self.state = ShopState(config.shop_domain, config.currency)
        self.bucket = CostBucket(config.bucket_size, config.restore_rate)
        self.faults = FaultInjector()
        self.stats = CallStats()
        self.webhooks = WebhookDispatcher("Shopify-Captain-Hook")
        if config.demo:
            self.seed(DEMO_CATALOGUE)

    def seed(self, items: Any) -> list[dict[str, Any]]:
        with self.state.lock:
            created = []
            for item in items:
                product, variant, inv = self.state.add_product(
                    str(item["sku"]),
                    str(item.get("title") or item["sku"]),
                    int(item.get("quantity", 0)),
                    item.get("price", "0.00"),
                )
                created.append(
                    {
                        "sku": variant.sku,
                        "title": product.title,
                        "quantity": int(item.get("quantity", 0)),
                        "price": variant.price,
                        "product_id": gid("Product", product.id),
                        "variant_id": gid("ProductVariant", variant.id),
                        "inventory_item_id": gid("InventoryItem", inv.id),
                        "location_id": gid("Location", self.state.primary_location_id),
                    }
                )
            return created

    def emit(self, events: list[Event]) -> list[Delivery]:
        """Turn events into signed deliveries to every matching subscription (call without the lock)."""
        deliveries = []
        with self.state.lock:
            subs = list(self.state.subscriptions.values())
        for event in events:
            body = json.dumps(event.payload, separators=(",", ":")).encode()
            event_id = str(uuid.uuid4())
            triggered = iso_z(utcnow())
            for sub in subs:
                if sub.topic != event.topic:
                    continue
                delivery_id = self.webhooks.new_id()
                headers = {
                    "X-Shopify-Topic": event.topic,
                    "X-Shopify-Hmac-Sha256": b64_hmac_sha256(self.config.client_secret, body),
                    "X-Shopify-Shop-Domain": self.config.shop_domain,
                    "X-Shopify-API-Version": self.config.api_version,
                    "X-Shopify-Webhook-Id": delivery_id,
                    "X-Shopify-Event-Id": event_id,
                    "X-Shopify-Triggered-At": triggered,
                }
                deliveries.append(
                    self.webhooks.enqueue(
                        Delivery(delivery_id, sub.id, event.topic, sub.address, body, headers)
                    )
                )
        return deliveries


def create_app(config: ShopifyConfig | None = None) -> Flask:
    """Build a Shopify sandbox app; all state lives in memory on `app.extensions["sandbox"]`."""
    sandbox = ShopifySandbox(config or ShopifyConfig())
    cfg = sandbox.config
    state = sandbox.state
    app = Flask("channel_sandboxes.shopify")
    app.extensions["sandbox"] = sandbox

    def body() -> dict[str, Any]:
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else {}

    # ------------------------------------------------------------------ OAuth

    @app.get("/admin/oauth/authorize")
    def authorize() -> Response:
        """Merchant consent, auto-approved: redirect straight back with a code and a signed query."""
        args = request.args
        if args.get("client_id") != cfg.client_id:
            return Response(
                "Oauth error invalid_request: The client_id is invalid or this app is not installable.",
                status=400,
                mimetype="text/plain",
            )
        redirect_uri = args.get("redirect_uri", "")
        if not redirect_uri.startswith(("http://", "https://")):
            return Response(
                "Oauth error invalid_request: The redirect_uri is missing or not whitelisted.",
                status=400,
                mimetype="text/plain",
            )
        scope = ",".join(s.strip() for s in (args.get("scope") or cfg.scopes).split(",") if s.strip())
        with state.lock:
            code = state.issue_code(scope)
        shop_name = cfg.shop_domain.split(".", 1)[0]
        params: dict[str, str] = {
            "code": code,
            "host": base64.b64encode(f"admin.shopify.com/store/{shop_name}".encode()).decode(),
            "shop": cfg.shop_domain,
            "timestamp": str(int(time.time())),
        }
        if "state" in args:
            params["state"] = args["state"]
        params["hmac"] = shopify_query_hmac(params, cfg.client_secret)
        separator = "&" if "?" in redirect_uri else "?"
        return redirect(redirect_uri + separator + urlencode(params), code=302)

    @app.post("/admin/oauth/access_token")
    def access_token() -> Response:
        """Code exchange and refresh; form-encoded (official library) or JSON bodies."""
        form: Mapping[str, Any] = request.form if request.form else body()
        try:
            if form.get("client_id") != cfg.client_id or not hmac.compare_digest(
                str(form.get("client_secret", "")), cfg.client_secret
            ):
                raise OAuthError(
                    "invalid_client",
                    "Client authentication failed due to unknown client, no client authentication included, "
                    "or unsupported authentication method.",
                )
            grant_type = form.get("grant_type") or "authorization_code"
            with state.lock:
                if grant_type == "authorization_code":
                    scope = state.redeem_code(str(form.get("code", "")))
                    parent = None
                elif grant_type == "refresh_token":
                    refresh = state.use_refresh_token(str(form.get("refresh_token", "")))
                    scope, parent = refresh.scope, refresh.token
                else:
                    raise OAuthError(
                        "unsupported_grant_type",
                        "The authorization grant type is not supported by the authorization server.",
                    )
                tokens = state.issue_tokens(scope, cfg.token_ttl, cfg.refresh_token_ttl, parent)
        except OAuthError as exc:
            return json_response({"error": exc.error, "error_description": exc.description}, 400)
        return json_response(tokens)

    # ------------------------------------------------------------------ GraphQL Admin

    @app.post("/admin/api/<version>/graphql.json")
    def graphql(version: str) -> Response:
        if not _VERSION_RE.match(version):
            return json_response({"errors": "Not Found"}, 404)
        served = version if version in SUPPORTED_VERSIONS else cfg.api_version
        headers = {"X-Shopify-API-Version": served, "X-Request-Id": str(uuid.uuid4())}
        payload = body()
        query = payload.get("query")
        doc = None
        parse_error: GraphQLSyntaxError | None = None
        try:
            doc = parse(query) if isinstance(query, str) else None
            op = doc.operation(payload.get("operationName")) if doc else None
        except GraphQLSyntaxError as exc:
            parse_error, op = exc, None
        operations = [getattr(s, "name", "graphql") for s in op.selections] if op else ["graphql"]
        sandbox.stats.record(operations)

        fault = sandbox.faults.take(operations)
        if fault is not None:
            sandbox.stats.bump("faulted")
            extra = {**headers}
            if fault.retry_after is not None:
                extra["Retry-After"] = format_retry_after(fault.retry_after)
            message = _FAULT_BODIES.get(fault.status, "Error")
            return json_response({"errors": message}, fault.status, extra)

        with state.lock:
            token = state.check_token(request.headers.get("X-Shopify-Access-Token"))
        if token is None:
            sandbox.stats.bump("unauthorized")
            return json_response(_UNAUTHORIZED, 401, headers)

        if parse_error is not None or doc is None or op is None:
            error = parse_error or GraphQLSyntaxError("No query string was present")
            return json_response(
                {
                    "errors": [
                        {
                            "message": str(error),
                            "locations": [{"line": error.line, "column": error.column}],
                            "extensions": {"code": "parseError"},
                        }
                    ]
                },
                200,
                headers,
            )

        variables = payload.get("variables") or {}
        if not isinstance(variables, dict):
            variables = {}
        ctx = ExecContext(state, {}, doc.fragments)
        try:
            for definition in op.variables:
                if definition.name in variables:
                    ctx.variables[definition.name] = variables[definition.name]
                elif definition.has_default:
                    ctx.variables[definition.name] = definition.default
                elif definition.type.endswith("!"):
                    raise GraphQLError(
                        f"Variable ${definition.name} of type {definition.type} was provided invalid value",
                        "INVALID_VARIABLE",
                        problems=[{"path": [], "explanation": "Expected value to not be null"}],
                    )
            root = "Mutation" if op.kind == "mutation" else "QueryRoot"
            requested = validate_and_cost(root, op.selections, ctx, [])
            if cfg.enforce_scopes:
                _check_scopes(op.selections, token.scope)
        except GraphQLError as exc:
            return json_response({"errors": [exc.payload]}, 200, headers)

        if requested > cfg.max_query_cost:
            return json_response(
                {
                    "errors": [
                        {
                            "message": f"Query cost is {requested}, which exceeds the single query max cost limit "
                            f"({cfg.max_query_cost}).\n\nSee https://shopify.dev/concepts/about-apis/rate-limits "
                            "for more information on how the cost of a query is calculated.\n\nTo query larger amounts "
                            "of data with fewer limits, bulk operations should be used instead.\nSee "
                            "https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.\n",
                            "extensions": {
                                "code": "MAX_COST_EXCEEDED",
                                "cost": requested,
                                "maxCost": cfg.max_query_cost,
                            },
                        }
                    ]
                },
                200,
                headers,
            )
        if not sandbox.bucket.take(requested):
            sandbox.stats.bump("throttled")
            return json_response(
                {
                    "errors": [
                        {
                            "message": "Throttled",
                            "extensions": {
                                "code": "THROTTLED",
                                "documentation": "https://shopify.dev/api/usage/rate-limits",
                            },
                        }
                    ],
                    "extensions": {
                        "cost": {
                            "requestedQueryCost": requested,
                            "actualQueryCost": None,
                            "throttleStatus": sandbox.bucket.status(),
                        }
                    },
                },
                200,
                headers,
            )
        try:
            with state.lock:
                data = execute(op, doc, ctx)
        except GraphQLError as exc:
            sandbox.bucket.refund(requested)
            return json_response({"errors": [exc.payload]}, 200, headers)
        actual = min(ctx.actual_cost, requested)
        sandbox.bucket.refund(requested - actual)
        sandbox.emit(ctx.events)
        cost = {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": sandbox.bucket.status(),
        }
        return json_response({"data": data, "extensions": {"cost": cost}}, 200, headers)

    # ------------------------------------------------------------------ control API

    @app.post("/_sandbox/reset")
    def reset() -> Response:
        with state.lock:
            state.reset()
        sandbox.faults.clear()
        sandbox.stats.reset()
        sandbox.webhooks.clear()
        sandbox.bucket.configure(cfg.bucket_size, cfg.restore_rate, cfg.bucket_size)
        return json_response({"ok": True})

    @app.get("/_sandbox/config")
    def config_view() -> Response:
        return json_response(
            {
                "channel": "shopify",
                "client_id": cfg.client_id,
                "shop_domain": cfg.shop_domain,
                "api_version": cfg.api_version,
                "location_id": gid("Location", state.primary_location_id),
                "base_url": request.host_url.rstrip("/"),
                "graphql_url": f"{request.host_url.rstrip('/')}/admin/api/{cfg.api_version}/graphql.json",
                "authorize_url": f"{request.host_url.rstrip('/')}/admin/oauth/authorize",
                "token_url": f"{request.host_url.rstrip('/')}/admin/oauth/access_token",
                "scopes": cfg.scopes,
                "token_ttl": cfg.token_ttl,
                "throttle": sandbox.bucket.status(),
            }
        )

    @app.post("/_sandbox/products")
    def add_products() -> Response:
        items = body().get("items")
        if not isinstance(items, list) or not all(isinstance(i, dict) and i.get("sku") for i in items):
            return json_response({"error": "items must be a list of objects with a sku"}, 400)
        with state.lock:
            clash = [i["sku"] for i in items if state.variant_by_sku(str(i["sku"])) is not None]
        if clash:
            return json_response({"error": f"sku already exists: {', '.join(map(str, clash))}"}, 409)
        return json_response({"items": sandbox.seed(items)}, 201)

    @app.get("/_sandbox/inventory")
    def inventory() -> Response:
        with state.lock:
            return json_response(state.available_by_sku())

    @app.post("/_sandbox/inventory")
    def set_inventory() -> Response:
        data = body()
        quantity = data.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            return json_response({"error": "quantity must be an integer"}, 400)
        with state.lock:
            variant = state.variant_by_sku(str(data.get("sku", "")))
            if variant is None:
                return json_response({"error": "unknown sku"}, 404)
            item = state.items[variant.inventory_item_id]
            event = state.set_available(item, state.primary_location_id, quantity)
        deliveries = sandbox.emit([event] if event else [])
        sandbox.webhooks.wait(deliveries)
        return json_response({variant.sku: quantity})

    @app.post("/_sandbox/orders")
    def place_order() -> Response:
        data = body()
        lines = data.get("lines")
        if not isinstance(lines, list) or not lines:
            return json_response({"error": "lines must be a non-empty list of {sku, quantity}"}, 400)
        try:
            with state.lock:
                order, events = state.place_order(
                    lines,
                    data.get("email"),
                    str(data.get("financial_status") or "paid"),
                    bool(data.get("allow_oversell")),
                )
                rest = state.order_rest(order)
        except OrderError as exc:
            return json_response({"error": str(exc)}, 422)
        deliveries = sandbox.emit(events)
        sandbox.webhooks.wait(deliveries)
        return json_response(
            {
                "id": gid("Order", order.id),
                "legacy_id": order.id,
                "name": order.name,
                "order": rest,
                "fulfillment_order_ids": [gid("FulfillmentOrder", f) for f in order.fulfillment_order_ids],
                "deliveries": [d.describe() for d in deliveries],
            },
            201,
        )

    @app.post("/_sandbox/faults")
    def faults() -> Response:
        parsed = parse_fault_request(body())
        if isinstance(parsed, str):
            return json_response({"error": parsed}, 400)
        sandbox.faults.arm(*parsed)
        return json_response(sandbox.faults.describe())

    @app.get("/_sandbox/faults")
    def faults_view() -> Response:
        return json_response(sandbox.faults.describe())

    @app.post("/_sandbox/expire-tokens")
    def expire_tokens() -> Response:
        with state.lock:
            count = state.expire_tokens()
        return json_response({"expired": count})

    @app.post("/_sandbox/tokens")
    def mint_token() -> Response:
        """Shortcut for tests that are not about OAuth: a token as the code exchange would return."""
        scope = str(body().get("scope") or cfg.scopes)
        with state.lock:
            return json_response(state.issue_tokens(scope, cfg.token_ttl, cfg.refresh_token_ttl, None), 201)

    @app.post("/_sandbox/throttle")
    def throttle() -> Response:
        data = body()
        sandbox.bucket.configure(
            _number(data.get("maximum_available")),
            _number(data.get("restore_rate")),
            _number(data.get("currently_available")),
        )
        return json_response(sandbox.bucket.status())

    @app.post("/_sandbox/webhooks")
    def subscribe() -> Response:
        data = body()
        topic = str(data.get("topic", ""))
        topic = WEBHOOK_TOPICS.get(topic, topic)
        address = data.get("address")
        if topic not in TOPIC_ENUMS:
            return json_response({"error": f"unsupported topic; one of {sorted(TOPIC_ENUMS)}"}, 400)
        if not isinstance(address, str) or not address.startswith(("http://", "https://")):
            return json_response({"error": "address must be an http(s) URL"}, 400)
        with state.lock:
            sub = Subscription(state.new_id(), topic, address)
            state.subscriptions[sub.id] = sub
        return json_response(
            {"id": gid("WebhookSubscription", sub.id), "topic": topic, "address": address, "format": "JSON"},
            201,
        )

    @app.get("/_sandbox/webhooks")
    def subscriptions() -> Response:
        with state.lock:
            subs = [
                {"id": gid("WebhookSubscription", s.id), "topic": s.topic, "address": s.address}
                for s in state.subscriptions.values()
            ]
        return json_response({"subscriptions": subs, "deliveries": sandbox.webhooks.list()})

    register_common_control_routes(app, sandbox.webhooks, sandbox.stats)
    return app


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _check_scopes(selections: list[Any], granted: str) -> None:
    """ACCESS_DENIED like Shopify when the token lacks the root field's scope (write implies read)."""
    scopes = {s.strip() for s in granted.split(",") if s.strip()}
    scopes |= {"read_" + s[len("write_") :] for s in scopes if s.startswith("write_")}
    for sel in selections:
        needed = REQUIRED_SCOPES.get(getattr(sel, "name", ""))
        if needed and not scopes.intersection(needed):
            raise GraphQLError(
                f"Access denied for {sel.name} field. Required access: `{needed[0]}` access scope.",
                "ACCESS_DENIED",
                [sel.name],
                documentation="https://shopify.dev/api/usage/access-scopes",
                requiredAccess=f"`{needed[0]}` access scope.",
            )
