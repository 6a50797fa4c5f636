"""The demo tenant wired to both channel sandboxes, through the public REST API only.

`make run` (omnistock_devtools.devrun) calls `ensure_demo` once every process is up, so a new user
sees stock flow from OmniStock to a "Shopify" and a "WooCommerce" shop without any account. The
full-stack test and the sync-latency benchmark drive the same `GatewayClient`, so the path a new
user's data takes is the path the tests check.

Everything here is idempotent across restarts: the SQLite files under var/ keep the tenant, its
products, stock and connections, while the sandboxes keep their state in memory and start empty
(or with their demo catalogue). So each start re-creates what the sandboxes lost (SKUs, the
Shopify token), re-maps listings (remote ids change with every sandbox start) and asks for an
inventory sync so the sandboxes show OmniStock's figures, not their seed figures.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any, TypeVar
from urllib.parse import urlencode, urlparse

import httpx

DEMO_EMAIL = "demo@omnistock.local"
DEMO_PASSWORD = "omnistock-demo"
WOO_API_PATH = "/wp-json/wc/v3"
# Every call here is local; a generous timeout still fails fast when a process is wedged.
HTTP_TIMEOUT = httpx.Timeout(30.0, connect=2.0)
# Auto-mapping pages through the channel's whole catalogue inside its rate limit: with thousands
# of remote products that takes minutes (Shopify's cost bucket), not seconds. It is a background
# job (202 + GET /jobs/{id}); this is how long its caller waits for the job to end.
JOB_WAIT_SECONDS = 600.0
JOB_POLL_SECONDS = 0.2
PAGE = 500

T = TypeVar("T")


# The gateway's OAuth session cookie (gateway.routes.channels.OAUTH_COOKIE).
OAUTH_COOKIE = "omnistock_oauth"


def allow_sandboxes(inherited: str, *sandbox_urls: str) -> str:
    """CHANNEL_ALLOWED_HOSTS for a local stack: what the caller inherited plus each sandbox's
    host:port. The connectors and the channels service refuse any other non-public host
    (omnistock_common.egress), so `make run` and the full-stack harness name their own."""
    entries = [part.strip() for part in inherited.split(",") if part.strip()]
    for url in sandbox_urls:
        parts = urlparse(url)
        entry = f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
        if entry not in entries:
            entries.append(entry)
    return ",".join(entries)


class DemoError(RuntimeError):
    """A step of the demo set-up failed; the message names the step and the server's answer."""


@dataclass(frozen=True)
class CatalogueItem:
    """One demo SKU: the same in OmniStock's catalog and in both sandboxes."""

    sku: str
    title: str
    quantity: int
    price: str


def demo_catalogue() -> list[CatalogueItem]:
    """The 20 SKUs the sandboxes load with `--demo` (channel_sandboxes.demo is the one list)."""
    from channel_sandboxes.demo import DEMO_CATALOGUE

    return [CatalogueItem(i["sku"], i["title"], i["quantity"], i["price"]) for i in DEMO_CATALOGUE]


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("error") or body)[:300]
    return str(body)[:300]


def expect(response: httpx.Response, *statuses: int, what: str) -> httpx.Response:
    """Raise DemoError naming `what` unless the response has one of `statuses`."""
    if response.status_code not in statuses:
        raise DemoError(f"{what}: HTTP {response.status_code} {_detail(response)}")
    return response


def retry_until(fn: Callable[[], T], *, deadline: float, what: str, interval: float = 0.5) -> T:
    """Call fn until it succeeds or `deadline` (monotonic) passes: processes start in any order."""
    last: Exception | None = None
    while True:
        try:
            return fn()
        except (httpx.HTTPError, DemoError) as exc:
            last = exc
        if time.monotonic() >= deadline:
            raise DemoError(f"{what}: gave up waiting ({last})")
        time.sleep(interval)


@dataclass
class GatewayClient:
    """A logged-in user of the REST API (the same calls the dashboard and the CLI make)."""

    base_url: str
    token: str = ""
    tenant_id: str = ""
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=HTTP_TIMEOUT))

    @property
    def api(self) -> str:
        return self.base_url.rstrip("/") + "/api/v1"

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def close(self) -> None:
        self.http.close()

    def call(
        self, method: str, path: str, *statuses: int, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """Any API call as this user; DemoError unless the status is one of `statuses` (200)."""
        response = self.http.request(
            method, f"{self.api}{path}", headers={**self._auth(), **(headers or {})}, **kwargs
        )
        return expect(response, *(statuses or (200,)), what=f"{method} {path}")

    # ---------------------------------------------------------------- auth
    def register(self, tenant_name: str, email: str, password: str) -> None:
        response = self.http.post(
            f"{self.api}/auth/register",
            json={"tenant_name": tenant_name, "email": email, "password": password},
        )
        body = expect(response, 201, what="register").json()
        self.token, self.tenant_id = body["access_token"], body["tenant_id"]

    def login(self, email: str, password: str) -> None:
        response = self.http.post(f"{self.api}/auth/login", json={"email": email, "password": password})
        self.token = expect(response, 200, what=f"log in as {email}").json()["access_token"]

    # ---------------------------------------------------------------- catalog + stock
    def _items(self, path: str, what: str) -> Iterator[dict[str, Any]]:
        """Every item of a paginated collection, following `next_cursor`."""
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": PAGE, **({"cursor": cursor} if cursor else {})}
            page = expect(
                self.http.get(f"{self.api}/{path}", params=params, headers=self._auth()), 200, what=what
            ).json()
            yield from page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def catalog_skus(self) -> set[str]:
        return {v["sku"] for p in self._items("products", "list products") for v in p["variants"]}

    def create_products(self, items: Iterable[CatalogueItem], currency: str = "USD") -> int:
        """One product per SKU; returns how many were created."""
        created = 0
        for item in items:
            body = {
                "title": item.title,
                "variants": [{"sku": item.sku, "price": {"amount": item.price, "currency": currency}}],
            }
            response = self.http.post(f"{self.api}/products", json=body, headers=self._auth())
            expect(response, 201, what=f"create product {item.sku}")
            created += 1
        return created

    def stocked_skus(self) -> set[str]:
        return {level["sku"] for level in self._items("inventory", "list stock levels")}

    def set_stock(self, quantities: dict[str, int], *, reason: str = "received", note: str = "") -> None:
        """Absolute on-hand counts at the default location, in batches of 10,000 lines."""
        items = [{"sku": sku, "set": qty, "reason": reason, "note": note} for sku, qty in quantities.items()]
        for start in range(0, len(items), 10_000):
            response = self.http.post(
                f"{self.api}/inventory/adjustments/batch",
                json={"items": items[start : start + 10_000]},
                headers=self._auth(),
            )
            body = expect(response, 200, what="set stock").json()
            if body["failed"]:
                errors = [r["error"] for r in body["results"] if r.get("error")][:3]
                raise DemoError(f"set stock: {body['failed']} lines refused, e.g. {errors}")

    def adjust(self, sku: str, delta: int, *, reason: str = "correction") -> dict[str, Any]:
        response = self.http.post(
            f"{self.api}/inventory/adjustments",
            json={"sku": sku, "delta": delta, "reason": reason},
            headers=self._auth(),
        )
        return dict(expect(response, 200, what=f"adjust {sku}").json())

    def stock(self, sku: str) -> dict[str, Any]:
        response = self.http.get(f"{self.api}/inventory/{sku}", headers=self._auth())
        return dict(expect(response, 200, what=f"stock of {sku}").json())

    # ---------------------------------------------------------------- channels
    def connections(self) -> list[dict[str, Any]]:
        response = self.http.get(f"{self.api}/channels", headers=self._auth())
        return list(expect(response, 200, what="list connections").json()["items"])

    def connection(self, connection_id: str) -> dict[str, Any]:
        response = self.http.get(f"{self.api}/channels/{connection_id}", headers=self._auth())
        return dict(expect(response, 200, what=f"get connection {connection_id}").json())

    def listings(self, connection_id: str) -> dict[str, dict[str, Any]]:
        """sku -> listing (external ids, last pushed quantity), every page."""
        out: dict[str, dict[str, Any]] = {}
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": PAGE, **({"cursor": cursor} if cursor else {})}
            response = self.http.get(
                f"{self.api}/channels/{connection_id}/listings", params=params, headers=self._auth()
            )
            page = expect(response, 200, what=f"listings of {connection_id}").json()
            out.update({item["sku"]: item for item in page["items"]})
            cursor = page.get("next_cursor")
            if not cursor:
                return out

    def sync_log(self, connection_id: str, limit: int = 100) -> list[dict[str, Any]]:
        response = self.http.get(
            f"{self.api}/channels/{connection_id}/sync-log", params={"limit": limit}, headers=self._auth()
        )
        return list(expect(response, 200, what=f"sync log of {connection_id}").json()["items"])

    def delete_connection(self, connection_id: str) -> None:
        response = self.http.delete(f"{self.api}/channels/{connection_id}", headers=self._auth())
        expect(response, 204, 404, what=f"delete connection {connection_id}")

    def connect_woocommerce(
        self,
        store_url: str,
        consumer_key: str,
        consumer_secret: str,
        name: str = "",
        api_base_url: str = "",
        webhook_secret: str = "",
    ) -> dict[str, Any]:
        """API-key connection to the store as the merchant knows it (`api_base_url`: an allowed
        sandbox standing in for it); the channels service validates the keys against the store
        first. A store already connected is re-authorised in place (same id, mappings kept).
        `webhook_secret`: the secret the store signs its webhooks with (needed to accept them)."""
        settings = {"store_url": store_url, **({"api_base_url": api_base_url} if api_base_url else {})}
        credentials = {"consumer_key": consumer_key, "consumer_secret": consumer_secret}
        if webhook_secret:
            credentials["webhook_secret"] = webhook_secret
        response = self.http.post(
            f"{self.api}/channels",
            json={
                "type": "woocommerce",
                "name": name,
                "settings": settings,
                "credentials": credentials,
            },
            headers=self._auth(),
        )
        return dict(expect(response, 201, what="connect WooCommerce").json())

    def connect_shopify(self, shop_domain: str, api_base_url: str, name: str = "") -> dict[str, Any]:
        """Shopify's OAuth code flow against `api_base_url` (see connect_oauth)."""
        return self.connect_oauth("shopify", api_base_url, name=name, shop=shop_domain)

    def connect_oauth(
        self, channel_type: str, api_base_url: str, *, name: str = "", **settings: str
    ) -> dict[str, Any]:
        """The real OAuth code flow, with this client playing the merchant's browser.

        start (302 to the channel's consent page, signed state) -> the sandbox approves at once
        and 302s to the gateway's callback with a code (Shopify: and its HMAC) -> the callback
        exchanges the code and stores the encrypted token. Like a browser, this client carries
        the HttpOnly cookie oauth/start set to the callback: without it the gateway answers 403.
        `settings` are oauth/start's query (shop, store_id, currency...).
        """
        query = urlencode({"api_base_url": api_base_url, "name": name, **settings})
        what = f"{channel_type} OAuth"
        start = self.http.get(f"{self.api}/channels/{channel_type}/oauth/start?{query}", headers=self._auth())
        consent_url = expect(start, 302, what=f"start {what}").headers["location"]
        session = SimpleCookie()
        for header in start.headers.get_list("set-cookie"):
            session.load(header)
        if OAUTH_COOKIE not in session:
            raise DemoError(f"start {what}: the gateway set no OAuth session cookie")
        consent = expect(self.http.get(consent_url), 302, what=f"{channel_type} consent page")
        callback = urlparse(consent.headers["location"])
        # The redirect_uri is PUBLIC_BASE_URL's; call our own gateway with its path and query. The
        # cookie goes explicitly: PUBLIC_BASE_URL may differ from base_url (host, or https).
        done = self.http.get(
            f"{self.base_url.rstrip('/')}{callback.path}?{callback.query}",
            headers={"Cookie": f"{OAUTH_COOKIE}={session[OAUTH_COOKIE].value}"},
        )
        return dict(expect(done, 200, what=f"{what} callback").json())

    def auto_map_job(self, connection_id: str, skus: Sequence[str] = ()) -> dict[str, Any]:
        """Start an auto-map (202 + job id) and wait for the job to end; returns the final job
        (`status` succeeded or failed), for callers that decide what a failure means."""
        response = self.http.post(
            f"{self.api}/channels/{connection_id}/listings/auto-map",
            json={"skus": list(skus)},
            headers=self._auth(),
        )
        job_id = str(expect(response, 202, what=f"auto-map listings of {connection_id}").json()["job_id"])
        return self.wait_for_job(job_id, what=f"auto-map listings of {connection_id}")

    def auto_map(self, connection_id: str, skus: Sequence[str] = ()) -> dict[str, Any]:
        """The auto-map's result `{mapped, unmapped_skus, unknown_remote_skus}` once its job succeeded."""
        job = self.auto_map_job(connection_id, skus)
        if job["status"] != "succeeded":
            raise DemoError(f"auto-map listings of {connection_id}: the job failed: {job['error']}")
        return dict(job["result"])

    def wait_for_job(self, job_id: str, *, what: str, timeout: float = JOB_WAIT_SECONDS) -> dict[str, Any]:
        """Poll GET /jobs/{id} until the job succeeded or failed."""
        give_up = time.monotonic() + timeout
        while True:
            job = dict(
                expect(
                    self.http.get(f"{self.api}/jobs/{job_id}", headers=self._auth()), 200, what=what
                ).json()
            )
            if job["status"] in ("succeeded", "failed"):
                return job
            if time.monotonic() > give_up:
                raise DemoError(
                    f"{what}: job {job_id} still {job['status']} after {timeout:.0f}s ({job['progress']})"
                )
            time.sleep(JOB_POLL_SECONDS)

    def request_sync(self, connection_id: str, scope: str = "inventory") -> str:
        response = self.http.post(
            f"{self.api}/channels/{connection_id}/sync", json={"scope": scope}, headers=self._auth()
        )
        return str(expect(response, 202, what=f"request a sync of {connection_id}").json()["job_id"])


class Sandbox:
    """The `/_sandbox/*` control API of one channel sandbox (either vendor; same shapes)."""

    def __init__(self, base_url: str, http: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http or httpx.Client(timeout=HTTP_TIMEOUT)

    def config(self) -> dict[str, Any]:
        return dict(
            expect(self.http.get(f"{self.base_url}/_sandbox/config"), 200, what="sandbox config").json()
        )

    def inventory(self) -> dict[str, int]:
        response = self.http.get(f"{self.base_url}/_sandbox/inventory")
        return {str(k): int(v) for k, v in expect(response, 200, what="sandbox inventory").json().items()}

    def add_products(self, items: Sequence[CatalogueItem], batch: int = 500) -> None:
        for start in range(0, len(items), batch):
            chunk = [
                {"sku": i.sku, "title": i.title, "quantity": i.quantity, "price": i.price}
                for i in items[start : start + batch]
            ]
            response = self.http.post(f"{self.base_url}/_sandbox/products", json={"items": chunk})
            expect(response, 201, what=f"add products to the sandbox at {self.base_url}")

    def calls(self) -> dict[str, Any]:
        return dict(
            expect(self.http.get(f"{self.base_url}/_sandbox/calls"), 200, what="sandbox calls").json()
        )

    def reset_calls(self) -> None:
        expect(self.http.post(f"{self.base_url}/_sandbox/calls/reset"), 200, what="reset sandbox calls")


@dataclass
class ChannelReport:
    """What the demo set-up did with one channel, for the start-up banner."""

    channel: str
    connection_id: str
    name: str
    status: str
    mapped: int
    unmapped: list[str]
    action: str  # "connected", "reconnected" or "kept"
    sandbox_url: str


_ACTIONS = {
    "connected": "connected now",
    "reconnected": "reconnected (the sandbox restarted)",
    "kept": "connection kept",
}


@dataclass
class DemoReport:
    products_created: int = 0
    stock_seeded: int = 0
    sandbox_skus_added: dict[str, int] = field(default_factory=dict)  # by sandbox URL
    channels: list[ChannelReport] = field(default_factory=list)

    def lines(self, gateway_url: str) -> list[str]:
        out = [
            f" Demo tenant: {DEMO_EMAIL} / {DEMO_PASSWORD} "
            f"({self.products_created} products created, stock seeded for {self.stock_seeded} SKUs this start)"
        ]
        for ch in self.channels:
            unmapped = f", not on the channel: {', '.join(ch.unmapped)}" if ch.unmapped else ""
            out.append(
                f"   {ch.channel + ':':<20}{_ACTIONS.get(ch.action, ch.action)}; status {ch.status}; "
                f"{ch.mapped} SKUs mapped{unmapped} (connection {ch.connection_id})"
            )
        out.append(" Watch stock arrive in the sandboxes:")
        for ch in self.channels:
            out.append(f"   curl -s {ch.sandbox_url}/_sandbox/inventory        # {ch.channel}")
        out += [
            " Change stock as the demo user, e.g.:",
            f"   TOKEN=$(curl -s -X POST {gateway_url}/api/v1/auth/login -H 'content-type: application/json' \\",
            f'     -d \'{{"email":"{DEMO_EMAIL}","password":"{DEMO_PASSWORD}"}}\' '
            "| python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')",
            f'   curl -s -X POST {gateway_url}/api/v1/inventory/adjustments -H "Authorization: Bearer $TOKEN" \\',
            '     -H \'content-type: application/json\' -d \'{"sku":"MUG-CER-11","delta":-5,"reason":"sale"}\'',
        ]
        return out


def _same_url(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


def _ensure_catalog_and_stock(
    client: GatewayClient, items: Sequence[CatalogueItem], report: DemoReport
) -> None:
    """Create missing products; seed stock only for SKUs that never had any (user changes persist)."""
    existing = client.catalog_skus()
    report.products_created = client.create_products(i for i in items if i.sku not in existing)
    stocked = client.stocked_skus()
    missing = {i.sku: i.quantity for i in items if i.sku not in stocked}
    if missing:
        client.set_stock(missing, note="demo stock (make run)")
    report.stock_seeded = len(missing)


def _ensure_sandbox_skus(sandbox: Sandbox, items: Sequence[CatalogueItem]) -> int:
    have = sandbox.inventory()
    missing = [i for i in items if i.sku not in have]
    if missing:
        sandbox.add_products(missing)
    return len(missing)


def _where(settings: dict[str, str]) -> str:
    """Where a connection's store is reached: its api_base_url (Shopify: the sandbox), else its
    store URL; connections made before store URLs named the WooCommerce REST root instead."""
    base = settings.get("api_base_url", "").rstrip("/")
    if base.endswith(WOO_API_PATH):
        return base[: -len(WOO_API_PATH)]
    return base or settings.get("store_url", "").rstrip("/")


def _stale(connections: list[dict[str, Any]], channel: str, where: str) -> list[dict[str, Any]]:
    """The demo tenant's connections of `channel` that do not point at the running sandbox."""
    return [c for c in connections if c["type"] == channel and not _same_url(_where(c["settings"]), where)]


def current_connection(connections: list[dict[str, Any]], channel: str, where: str) -> dict[str, Any] | None:
    for c in connections:
        if c["type"] == channel and _same_url(_where(c["settings"]), where):
            return c
    return None


def map_and_report(
    client: GatewayClient, conn: dict[str, Any], action: str, channel: str, sandbox_url: str
) -> ChannelReport:
    mapped = client.auto_map(conn["id"])
    client.request_sync(conn["id"], "inventory")
    fresh = next((c for c in client.connections() if c["id"] == conn["id"]), conn)
    return ChannelReport(
        channel=channel,
        connection_id=conn["id"],
        name=conn["name"],
        status=fresh["status"],
        mapped=int(mapped["mapped"]),
        unmapped=list(mapped["unmapped_skus"]),
        action=action,
        sandbox_url=sandbox_url,
    )


def ensure_woocommerce(client: GatewayClient, sandbox: Sandbox) -> ChannelReport:
    """Keep a working key connection to the running sandbox (by its store URL); replace one
    pointing elsewhere; re-authorise a disconnected one in place, which keeps its mappings."""
    config = sandbox.config()
    store_url = config["store_url"]
    connections = client.connections()
    for old in _stale(connections, "woocommerce", store_url):
        client.delete_connection(old["id"])
    conn = current_connection(connections, "woocommerce", store_url)
    action = "kept"
    if conn is None or conn["status"] == "disconnected":
        action = "connected" if conn is None else "reconnected"
        conn = client.connect_woocommerce(
            store_url, config["consumer_key"], config["consumer_secret"], name="Demo WooCommerce"
        )
    return map_and_report(client, conn, action, "WooCommerce", sandbox.base_url)


def ensure_shopify(client: GatewayClient, sandbox: Sandbox) -> ChannelReport:
    """Keep the OAuth connection if its token still works, otherwise run OAuth again.

    The sandbox forgets every token when it restarts, so after a `make run` restart the stored
    token is refused: the channels service marks the connection disconnected (or the call is
    refused), and the OAuth flow re-authorises that same connection, mappings kept.
    """
    config = sandbox.config()
    api_base = config["base_url"]
    connections = client.connections()
    for old in _stale(connections, "shopify", api_base):
        client.delete_connection(old["id"])
    conn = current_connection(connections, "shopify", api_base)
    action = "connected"
    if conn is not None:
        if conn["status"] != "disconnected" and client.auto_map_job(conn["id"])["status"] == "succeeded":
            action = "kept"
        else:
            conn = None
            action = "reconnected"
    if conn is None:
        conn = client.connect_shopify(config["shop_domain"], api_base, name="Demo Shopify")
    return map_and_report(client, conn, action, "Shopify", sandbox.base_url)


def ensure_demo(
    gateway_url: str,
    shopify_sandbox_url: str,
    woocommerce_sandbox_url: str,
    *,
    marketplaces: Mapping[str, str] | None = None,
    email: str = DEMO_EMAIL,
    password: str = DEMO_PASSWORD,
    items: Sequence[CatalogueItem] | None = None,
    wait_seconds: float = 60.0,
) -> DemoReport:
    """Bring the demo tenant to: demo products + stock, every sandbox connected and mapped
    (`marketplaces`: channel type -> its sandbox's URL, beyond Shopify and WooCommerce).

    The tenant itself must exist (gateway.seed_demo). Waits up to `wait_seconds` for the
    sandboxes and connectors to answer, since `make run` starts every process at once.
    """
    catalogue = list(items if items is not None else demo_catalogue())
    deadline = time.monotonic() + wait_seconds
    report = DemoReport()
    client = GatewayClient(gateway_url)
    shopify, woo = Sandbox(shopify_sandbox_url, client.http), Sandbox(woocommerce_sandbox_url, client.http)
    try:
        retry_until(lambda: client.login(email, password), deadline=deadline, what="log in as the demo user")
        retry_until(
            lambda: _ensure_catalog_and_stock(client, catalogue, report),
            deadline=deadline,
            what="demo products and stock",
        )
        from omnistock_devtools import marketplaces as markets  # it imports this module

        others = {channel: Sandbox(url, client.http) for channel, url in (marketplaces or {}).items()}
        # Each sandbox once (Meta's serves facebook and instagram), by its URL.
        every = {s.base_url: s for s in (shopify, woo, *others.values())}
        for url, sandbox in every.items():
            report.sandbox_skus_added[url] = retry_until(
                lambda sandbox=sandbox: _ensure_sandbox_skus(sandbox, catalogue),
                deadline=deadline,
                what=f"demo SKUs in the sandbox at {url}",
            )
        # The connector processes may still be starting: a refused connect is retried.
        connects: list[tuple[str, Callable[[], ChannelReport]]] = [
            ("WooCommerce", lambda: ensure_woocommerce(client, woo)),
            ("Shopify", lambda: ensure_shopify(client, shopify)),
            *((c, lambda c=c, s=s: markets.ensure_connected(client, c, s)) for c, s in others.items()),
        ]
        for what, connect in connects:
            report.channels.append(retry_until(connect, deadline=deadline, what=what))
    finally:
        client.close()
    return report
