"""Orders through a running stack: sandbox orders, their signed webhooks fired when the caller
chooses, and the unified order read back through the gateway.

The orders full-stack test (tests/e2e/test_orders_full_stack.py) and the import benchmark
(bench/order_import.py) drive the same steps, so the path a benchmark measures is the path the
acceptance checks.

Why a webhook catcher: the sandboxes sign and send their order webhooks the moment an order
changes. To fire a webhook at the same time as a poll, after a newer one, or twice, the sandbox's
subscriptions point at `WebhookCatcher`, which keeps each delivery exactly as signed (body and
headers, byte for byte) and sends it to the gateway's public webhook route when asked (`fire`).
`forward=True` sends each one on at once instead (what a live shop does).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from flask import Flask, Response, request

from channel_sandboxes.common import serve
from omnistock_devtools.demo import HTTP_TIMEOUT, DemoError, GatewayClient, Sandbox, expect

T = TypeVar("T")

SHOPIFY_ORDER_TOPICS = ("orders/create", "orders/updated", "orders/paid", "orders/cancelled")
WOO_ORDER_TOPICS = ("order.created", "order.updated")
# Headers a forwarder must not copy: the HTTP client sets them for the new request.
_HOP_HEADERS = frozenset({"host", "content-length", "connection", "accept-encoding", "transfer-encoding"})
POLL_INTERVAL = 0.05


class FlowTimeout(AssertionError):
    """A condition of the flow was not reached before its deadline (the message says what was seen)."""


def wait_for(
    probe: Callable[[], T],
    done: Callable[[T], bool],
    *,
    timeout: float,
    what: str,
    interval: float = POLL_INTERVAL,
    context: Callable[[], str] | None = None,
) -> T:
    """Call `probe` until `done(result)`; FlowTimeout with the last result after `timeout` seconds,
    followed by `context()` (e.g. the log tails of a full stack's processes)."""
    deadline = time.monotonic() + timeout
    while True:
        seen = probe()
        if done(seen):
            return seen
        if time.monotonic() > deadline:
            message = f"{what}: not reached within {timeout:.0f}s; last seen: {str(seen)[:2000]}"
            raise FlowTimeout(message + (f"\n{context()}" if context is not None else ""))
        time.sleep(interval)


# ---------------------------------------------------------------------------- webhooks
@dataclass(frozen=True)
class Captured:
    """One webhook as the sandbox signed it, addressed to one connection."""

    channel_type: str
    connection_id: str
    topic: str
    body: bytes
    headers: tuple[tuple[str, str], ...]

    @property
    def order_id(self) -> str:
        """The channel's order id in the body ('' for a non-order payload)."""
        try:
            return str(json.loads(self.body).get("id", ""))
        except (ValueError, AttributeError):
            return ""


@dataclass
class WebhookCatcher:
    """A local HTTP receiver for sandbox webhooks: keeps them (or forwards them at once)."""

    gateway_url: str
    forward: bool = False
    captured: list[Captured] = field(default_factory=list)
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=HTTP_TIMEOUT))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: Any = None

    def start(self) -> WebhookCatcher:
        app = Flask("webhook-catcher")

        @app.post("/hooks/<channel_type>/<connection_id>")
        def hook(channel_type: str, connection_id: str) -> Response:
            headers = tuple((k, v) for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS)
            topic = request.headers.get("X-Shopify-Topic") or request.headers.get("X-WC-Webhook-Topic") or ""
            item = Captured(channel_type, connection_id, topic, request.get_data(), headers)
            with self._lock:
                self.captured.append(item)
            if self.forward:
                status = self.fire(item)
                return Response("", status)
            return Response("", 200)

        self._server, _ = serve(app)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        self.http.close()

    def __enter__(self) -> WebhookCatcher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def address(self, channel_type: str, connection_id: str) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/hooks/{channel_type}/{connection_id}"

    def of_order(self, external_id: str, topic: str | None = None) -> list[Captured]:
        """What the sandbox sent about one order (optionally one topic), in arrival order."""
        with self._lock:
            return [
                c for c in self.captured if c.order_id == external_id and (topic is None or c.topic == topic)
            ]

    def fire(self, item: Captured) -> int:
        """POST the delivery, unchanged, to the gateway's public webhook route; its HTTP status."""
        response = self.http.post(
            f"{self.gateway_url.rstrip('/')}/api/v1/webhooks/{item.channel_type}/{item.connection_id}",
            content=item.body,
            headers=dict(item.headers),
        )
        return response.status_code


def subscribe_order_webhooks(sandbox: Sandbox, channel_type: str, address: str) -> None:
    """Subscribe `address` to the sandbox's order topics (WooCommerce: signed with the sandbox's
    webhook secret, which the connection must carry as credential `webhook_secret`)."""
    topics = SHOPIFY_ORDER_TOPICS if channel_type == "shopify" else WOO_ORDER_TOPICS
    for topic in topics:
        expect(
            sandbox.http.post(
                f"{sandbox.base_url}/_sandbox/webhooks", json={"topic": topic, "address": address}
            ),
            201,
            what=f"subscribe {address} to {topic}",
        )


# ---------------------------------------------------------------------------- sandbox orders
@dataclass(frozen=True)
class PlacedOrder:
    channel_type: str
    connection_id: str
    external_id: str
    name: str


@dataclass
class Shop:
    """One sandbox and the tenant's connection to it."""

    channel_type: str  # "shopify" | "woocommerce"
    sandbox: Sandbox
    connection_id: str

    def place_order(
        self,
        lines: dict[str, int],
        *,
        email: str = "",
        paid: bool = True,
        price: str = "10.00",
        allow_oversell: bool = False,
    ) -> PlacedOrder:
        """A checkout on the sandbox: paid (Shopify `paid`, Woo `processing`) or awaiting payment.
        Without `email`, a buyer of its own (the same email and total would be a possible duplicate)."""
        email = email or f"buyer-{uuid.uuid4().hex[:12]}@example.test"
        body: dict[str, Any] = {
            "lines": [{"sku": sku, "quantity": qty, "price": price} for sku, qty in lines.items()],
            "email": email,
            "allow_oversell": allow_oversell,
        }
        if self.channel_type == "shopify":
            body["financial_status"] = "paid" if paid else "pending"
        else:
            body["status"] = "processing" if paid else "pending"
            body["billing"] = {"email": email, "first_name": "Sandbox", "last_name": "Buyer"}
        response = self.sandbox.http.post(f"{self.sandbox.base_url}/_sandbox/orders", json=body)
        placed = expect(response, 201, what=f"place a {self.channel_type} sandbox order").json()
        external = placed["legacy_id"] if self.channel_type == "shopify" else placed["id"]
        return PlacedOrder(self.channel_type, self.connection_id, str(external), placed["name"])

    def mark_paid(self, external_id: str) -> None:
        """The merchant captures the payment on the channel (Shopify "Mark as paid"; Woo processing)."""
        if self.channel_type == "shopify":
            response = self.sandbox.http.post(
                f"{self.sandbox.base_url}/_sandbox/orders/{external_id}", json={"action": "pay"}
            )
            expect(response, 200, what=f"mark Shopify order {external_id} paid")
            return
        from woocommerce_connector.client import OAuth1Signing

        config = self.sandbox.config()
        response = self.sandbox.http.put(
            f"{self.sandbox.base_url}/wp-json/wc/v3/orders/{external_id}",
            json={"status": "processing", "set_paid": True},
            auth=OAuth1Signing(config["consumer_key"], config["consumer_secret"]),
        )
        expect(response, 200, what=f"mark WooCommerce order {external_id} paid")

    def order_view(self, external_id: str) -> dict[str, Any]:
        """The order as the merchant sees it on the channel (fulfillments / notes and trackings)."""
        response = self.sandbox.http.get(f"{self.sandbox.base_url}/_sandbox/orders/{external_id}")
        return dict(expect(response, 200, what=f"sandbox order {external_id}").json())


def connect_shops(client: GatewayClient, shopify: Sandbox, woo: Sandbox) -> tuple[Shop, Shop]:
    """Connect both sandboxes through the gateway (Shopify by OAuth, WooCommerce by keys with the
    sandbox's webhook secret), as a merchant would."""
    woo_config = woo.config()
    woo_conn = client.connect_woocommerce(
        woo_config["store_url"],
        woo_config["consumer_key"],
        woo_config["consumer_secret"],
        webhook_secret=woo_config["webhook_secret"],
    )
    shop_conn = client.connect_shopify(shopify.config()["shop_domain"], shopify.base_url)
    return Shop("shopify", shopify, shop_conn["id"]), Shop("woocommerce", woo, woo_conn["id"])


# ---------------------------------------------------------------------------- orders via the gateway
def list_orders(client: GatewayClient, **filters: Any) -> list[dict[str, Any]]:
    """Every order matching the filters (GET /orders, all pages)."""
    out: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"limit": 500, **filters, **({"cursor": cursor} if cursor else {})}
        response = client.http.get(f"{client.api}/orders", params=params, headers=client._auth())
        page = expect(response, 200, what="list orders").json()
        out.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return out


def get_order(client: GatewayClient, order_id: str) -> dict[str, Any]:
    response = client.http.get(f"{client.api}/orders/{order_id}", headers=client._auth())
    return dict(expect(response, 200, what=f"get order {order_id}").json())


def orders_of(client: GatewayClient, connection_id: str, external_id: str) -> list[dict[str, Any]]:
    """The unified orders OmniStock holds for one channel order (exactly one once imported)."""
    return [
        o
        for o in list_orders(client, channel=connection_id, q=external_id)
        if o["external_id"] == external_id
    ]


def wait_for_order(
    client: GatewayClient,
    placed: PlacedOrder,
    *,
    timeout: float,
    done: Callable[[dict[str, Any]], bool] = lambda order: True,
    what: str = "",
) -> dict[str, Any]:
    """Poll the gateway until the channel order is imported (and `done(order)`); the order."""
    found = wait_for(
        lambda: orders_of(client, placed.connection_id, placed.external_id),
        lambda orders: len(orders) >= 1 and done(orders[0]),
        timeout=timeout,
        what=what or f"{placed.channel_type} order {placed.external_id} imported",
    )
    if len(found) != 1:
        raise FlowTimeout(
            f"{len(found)} orders for {placed.channel_type} order {placed.external_id}: {found}"
        )
    return found[0]


def fully_reserved(order: dict[str, Any]) -> bool:
    """Every line of a known SKU holds its whole quantity in inventory."""
    return all(line["quantity_reserved"] == line["quantity"] for line in order["lines"] if line["sku_known"])


def fulfill(client: GatewayClient, order_id: str, carrier: str, tracking_number: str) -> dict[str, Any]:
    response = client.http.post(
        f"{client.api}/orders/{order_id}/fulfill",
        json={"carrier": carrier, "tracking_number": tracking_number},
        headers={**client._auth(), "Idempotency-Key": f"fulfil-{order_id}"},
    )
    return dict(expect(response, 200, 201, what=f"fulfil order {order_id}").json())


def cancel(client: GatewayClient, order_id: str, reason: str = "customer") -> dict[str, Any]:
    response = client.http.post(
        f"{client.api}/orders/{order_id}/cancel",
        json={"reason": reason},
        headers={**client._auth(), "Idempotency-Key": f"cancel-{order_id}"},
    )
    return dict(expect(response, 200, what=f"cancel order {order_id}").json())


def sync_orders(client: GatewayClient, connection_id: str) -> str:
    """`POST /channels/{id}/sync {"scope": "orders"}`: poll that connection's orders now; the job id."""
    return client.request_sync(connection_id, "orders")


def wait_for_job(client: GatewayClient, job_id: str, timeout: float) -> dict[str, Any]:
    job = client.wait_for_job(job_id, what=f"job {job_id}", timeout=timeout)
    if job["status"] != "succeeded":
        raise DemoError(f"job {job_id} failed: {job.get('error')}")
    return job


def stock_levels(client: GatewayClient, skus: Sequence[str]) -> dict[str, dict[str, int]]:
    """sku -> {on_hand, reserved, available} as inventory reports them."""
    out: dict[str, dict[str, int]] = {}
    for sku in skus:
        level = client.stock(sku)
        out[sku] = {k: int(level[k]) for k in ("on_hand", "reserved", "available")}
    return out


__all__ = [
    "Captured",
    "FlowTimeout",
    "PlacedOrder",
    "Shop",
    "WebhookCatcher",
    "cancel",
    "connect_shops",
    "fulfill",
    "fully_reserved",
    "get_order",
    "list_orders",
    "orders_of",
    "stock_levels",
    "subscribe_order_webhooks",
    "sync_orders",
    "wait_for",
    "wait_for_job",
    "wait_for_order",
]
