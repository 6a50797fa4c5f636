"""The real connector gRPC server against the real WooCommerce sandbox (REST wc/v3) on 127.0.0.1.

The sandbox is driven through its control API (/_sandbox/*) and checked both there and through
its vendor REST API, so a connector bug cannot hide behind its own read-back.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from channel_sandboxes.woocommerce import create_app, serve
from omnistock.common.v1 import common_pb2
from omnistock.connector.v1 import connector_service_pb2 as pb
from woocommerce_connector.client import OAuth1Signing


@dataclass
class Sandbox:
    url: str
    control: httpx.Client
    config: dict[str, Any]

    @property
    def api_base(self) -> str:
        return str(self.config["api_base"])

    def post(self, path: str, payload: dict[str, Any]) -> Any:
        response = self.control.post(path, json=payload)
        assert response.status_code < 300, response.text
        return response.json()

    def get(self, path: str) -> Any:
        response = self.control.get(path)
        assert response.status_code == 200, response.text
        return response.json()

    def rest(self, path: str) -> Any:
        """The vendor API as a merchant's other tools would see it."""
        # Over plain http WooCommerce takes the keys only as an OAuth 1.0a signature.
        auth = OAuth1Signing(self.config["consumer_key"], self.config["consumer_secret"])
        response = self.control.get(f"{self.api_base}/{path}", auth=auth)
        assert response.status_code == 200, response.text
        return response.json()

    def seed(self, items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {i["sku"]: i for i in self.post("/_sandbox/products", {"items": items})["items"]}

    def calls(self, operation: str) -> int:
        return int(self.get("/_sandbox/calls")["by_operation"].get(operation, 0))


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    server, thread = serve(create_app(), "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.server_port}"
    control = httpx.Client(base_url=url, timeout=10)
    try:
        control.post("/_sandbox/reset").raise_for_status()
        yield Sandbox(url, control, control.get("/_sandbox/config").json())
    finally:
        control.close()
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def conn(sandbox: Sandbox, make_connection) -> Any:  # type: ignore[no-untyped-def]
    def build(**overrides: str) -> pb.ConnectionContext:
        values = {
            "consumer_key": sandbox.config["consumer_key"],
            "consumer_secret": sandbox.config["consumer_secret"],
            **overrides,
        }
        return make_connection(sandbox.url, **values)

    return build


def _item(sku: str, quantity: int, product_id: Any, variation_id: Any = None) -> pb.InventoryItem:
    ids = {"product_id": str(product_id)}
    if variation_id is not None:
        ids["variation_id"] = str(variation_id)
    return pb.InventoryItem(sku=sku, quantity=quantity, remote=pb.RemoteIds(ids=ids))


def _mapped(seeded: dict[str, Any], quantity: int) -> pb.InventoryItem:
    return _item(seeded["sku"], quantity, seeded["product_id"], seeded.get("variation_id"))


def _error_details(error: grpc.RpcError) -> tuple[str, float | None]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    reason, delay = "", None
    for detail in status.details if status else []:
        info, retry = error_details_pb2.ErrorInfo(), error_details_pb2.RetryInfo()
        if detail.Unpack(info):
            reason = info.reason
        elif detail.Unpack(retry):
            delay = retry.retry_delay.seconds + retry.retry_delay.nanos / 1e9
    return reason, delay


# ---- credentials -----------------------------------------------------------------------------


def test_validate_good_and_bad_keys(connector, sandbox: Sandbox, conn) -> None:  # type: ignore[no-untyped-def]
    good = connector.call("ValidateCredentials", pb.ValidateCredentialsRequest(connection=conn()))
    assert good.account_name == "OmniStock WooCommerce Sandbox"
    # The store's currency (general setting woocommerce_currency) is learnt with the keys.
    assert dict(good.settings) == {"currency": "USD"}

    for bad in (conn(consumer_secret="cs_wrong"), conn(consumer_key="ck_wrong")):
        with pytest.raises(grpc.RpcError) as caught:
            connector.call("ValidateCredentials", pb.ValidateCredentialsRequest(connection=bad))
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "127.0.0.1" in caught.value.details()  # names the store
        assert _error_details(caught.value)[0] == "CREDENTIALS_REVOKED"  # Woo keys never "expire"
    assert sandbox.get("/_sandbox/calls")["unauthorized"] == 2


# ---- inventory -------------------------------------------------------------------------------


def test_push_250_quantities_in_three_batch_calls(connector, sandbox: Sandbox, conn) -> None:  # type: ignore[no-untyped-def]
    seeded = sandbox.seed(
        [{"sku": f"SKU-{i:03d}", "title": f"P{i}", "quantity": 0, "price": "5.00"} for i in range(250)]
    )
    items = [_mapped(seeded[f"SKU-{i:03d}"], i + 1) for i in range(250)]
    response = connector.call("PushInventory", pb.PushInventoryRequest(connection=conn(), items=items))
    assert response.calls == 3
    assert [r.sku for r in response.results] == [i.sku for i in items]
    assert {r.outcome for r in response.results} == {pb.ITEM_OUTCOME_APPLIED}
    assert sandbox.calls("products/batch") == 3
    stock = sandbox.get("/_sandbox/inventory")
    assert all(stock[f"SKU-{i:03d}"] == i + 1 for i in range(250))


def test_variations_are_pushed_grouped_by_parent(connector, sandbox: Sandbox, conn) -> None:  # type: ignore[no-untyped-def]
    seeded = sandbox.seed(
        [{"sku": "MUG", "quantity": 1, "price": "9.00"}]
        + [{"sku": f"TEE-{c}", "parent_sku": "TEE", "quantity": 1, "price": "20.00"} for c in "RGB"]
        + [{"sku": f"CAP-{c}", "parent_sku": "CAP", "quantity": 1, "price": "12.00"} for c in "SML"]
    )
    items = [_mapped(s, 40 + n) for n, s in enumerate(seeded.values())]
    items.append(_item("GHOST", 3, 999_999))  # an id the store does not have
    items.append(_item("UNMAPPED", 3, ""))
    response = connector.call("PushInventory", pb.PushInventoryRequest(connection=conn(), items=items))
    assert response.calls == 3  # products/batch + one variations/batch per parent
    assert sandbox.calls("products/batch") == 1 and sandbox.calls("variations/batch") == 2
    outcomes = {r.sku: r.outcome for r in response.results}
    assert outcomes.pop("GHOST") == pb.ITEM_OUTCOME_REJECTED
    assert outcomes.pop("UNMAPPED") == pb.ITEM_OUTCOME_REJECTED
    assert set(outcomes.values()) == {pb.ITEM_OUTCOME_APPLIED}
    stock = sandbox.get("/_sandbox/inventory")
    assert [stock[sku] for sku in seeded] == [40 + n for n in range(len(seeded))]


def test_rate_limits_and_server_errors_are_retried_until_the_store_recovers(
    connector, sandbox: Sandbox, conn
) -> None:  # type: ignore[no-untyped-def]
    seeded = sandbox.seed([{"sku": "A", "quantity": 0, "price": "1.00"}])
    request = pb.PushInventoryRequest(connection=conn(), items=[_mapped(seeded["A"], 7)])

    sandbox.post("/_sandbox/faults", {"status": 429, "count": 2, "retry_after": 3})
    first = connector.call("PushInventory", request)
    assert first.calls == 3 and first.results[0].outcome == pb.ITEM_OUTCOME_APPLIED
    assert connector.sleeps == [3.0, 3.0]  # Retry-After wins over the (shorter) jittered backoff

    sandbox.post("/_sandbox/faults", {"status": 500, "count": 2})
    request.items[0].quantity = 8
    second = connector.call("PushInventory", request)
    assert second.calls == 3 and second.results[0].outcome == pb.ITEM_OUTCOME_APPLIED
    assert sandbox.get("/_sandbox/inventory")["A"] == 8
    assert sandbox.get("/_sandbox/calls")["faulted"] == 4


def test_exhausted_retries_map_to_the_contract_then_recover(connector, sandbox: Sandbox, conn) -> None:  # type: ignore[no-untyped-def]
    seeded = sandbox.seed([{"sku": "A", "quantity": 0, "price": "1.00"}])
    request = pb.PushInventoryRequest(connection=conn(), items=[_mapped(seeded["A"], 5)])

    sandbox.post("/_sandbox/faults", {"status": 429, "count": 50, "retry_after": 2})
    with pytest.raises(grpc.RpcError) as caught:
        connector.call("PushInventory", request)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert _error_details(caught.value) == ("RATE_LIMITED", 2.0)

    sandbox.post("/_sandbox/faults", {"status": 503, "count": 50})
    with pytest.raises(grpc.RpcError) as caught:
        connector.call("PushInventory", request)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE

    sandbox.post("/_sandbox/faults", {"status": 0, "count": 0})
    assert sandbox.get("/_sandbox/inventory")["A"] == 0  # nothing landed while failing
    response = connector.call("PushInventory", request)
    assert response.results[0].outcome == pb.ITEM_OUTCOME_APPLIED
    assert sandbox.get("/_sandbox/inventory")["A"] == 5


def test_read_inventory_reports_channel_quantities(connector, sandbox: Sandbox, conn) -> None:  # type: ignore[no-untyped-def]
    seeded = sandbox.seed(
        [
            {"sku": "MUG", "quantity": 4, "price": "9.00"},
            {"sku": "TEE-R", "parent_sku": "TEE", "quantity": 6, "price": "20.00"},
        ]
    )
    sandbox.post("/_sandbox/inventory", {"sku": "MUG", "quantity": 11})  # changed by hand on the store
    items = [
        _mapped(seeded["MUG"], 0),
        _mapped(seeded["TEE-R"], 0),
        _item("GONE", 0, 999_999),
        _item("GONE-VAR", 0, seeded["TEE-R"]["product_id"], 999_998),
        _item("UNMAPPED", 0, ""),
    ]
    response = connector.call("ReadInventory", pb.ReadInventoryRequest(connection=conn(), items=items))
    assert [(q.sku, q.quantity, q.found) for q in response.quantities] == [
        ("MUG", 11, True),
        ("TEE-R", 6, True),
        ("GONE", 0, False),
        ("GONE-VAR", 0, False),
        ("UNMAPPED", 0, False),
    ]


def test_list_remote_products_pages_with_variations(connector, sandbox: Sandbox, conn) -> None:  # type: ignore[no-untyped-def]
    seeded = sandbox.seed(
        [{"sku": f"S{i}", "quantity": i, "price": "1.00"} for i in range(5)]
        + [{"sku": f"V{i}", "parent_sku": "PARENT", "quantity": 10 + i, "price": "2.00"} for i in range(3)]
    )
    found: dict[str, tuple[dict[str, str], int]] = {}
    cursor, pages = "", 0
    while True:
        response = connector.call(
            "ListRemoteProducts", pb.ListRemoteProductsRequest(connection=conn(), cursor=cursor, limit=2)
        )
        pages += 1
        for product in response.products:
            assert product.sku not in found
            found[product.sku] = (dict(product.remote.ids), product.quantity)
        cursor = response.next_cursor
        if not cursor:
            break
    assert pages == 3  # 6 top-level products (5 simple + 1 variable parent), 2 per page
    expected = {
        sku: ({k: str(v) for k, v in s.items() if k in ("product_id", "variation_id")}, s["quantity"])
        for sku, s in seeded.items()
    }
    assert found == expected


def test_list_remote_products_with_catalog_reads_variable_products_whole(
    connector, sandbox: Sandbox, conn
) -> None:  # type: ignore[no-untyped-def]
    """include_catalog: a variable product with its variations (attributes as options, weight in
    grams, global_unique_id as barcode), a variation without a SKU, and a simple product."""
    shop = [
        {
            "title": "Tee",
            "description": "Soft",
            "tags": ["cotton"],
            "images": ["https://cdn.example.test/tee.jpg"],
            "variants": [
                {
                    "sku": "TEE-S",
                    "barcode": "123",
                    "options": {"Size": "S"},
                    "price": "12.50",
                    "weight_grams": 200,
                    "quantity": 4,
                },
                {"sku": "", "options": {"Size": "M"}, "price": "12.50", "quantity": 2},
            ],
        },
        {"title": "Mug", "variants": [{"sku": "MUG", "price": "5", "quantity": 3}]},
        {"title": "Cap", "variants": [{"sku": "CAP", "price": "7", "quantity": 1}]},
    ]
    sandbox.post("/_sandbox/catalog", {"products": shop})
    products: list[pb.CatalogProduct] = []
    cursor, pages = "", 0
    while True:
        reply = connector.call(
            "ListRemoteProducts",
            pb.ListRemoteProductsRequest(connection=conn(), cursor=cursor, limit=2, include_catalog=True),
        )
        products.extend(reply.catalog)
        pages += 1
        cursor = reply.next_cursor
        if not cursor:
            break
    assert pages == 2 and [p.title for p in products] == ["Tee", "Mug", "Cap"]
    tee = products[0]
    assert (tee.description, list(tee.tags), list(tee.image_urls)) == (
        "Soft",
        ["cotton"],
        ["https://cdn.example.test/tee.jpg"],
    )
    small, medium = tee.variants
    assert (small.sku, small.barcode, small.weight_grams, small.price.amount_minor) == (
        "TEE-S",
        "123",
        200,
        1250,
    )
    assert [(o.name, o.value) for o in small.options] == [("Size", "S")]
    assert [q.available for q in small.quantities] == [4]
    assert (
        small.remote.ids["product_id"] == tee.external_id
        and small.remote.ids["variation_id"] == small.external_id
    )
    assert medium.sku == "" and [q.available for q in medium.quantities] == [2]
    mug = products[1].variants[0]
    assert (mug.sku, dict(mug.remote.ids), mug.price.amount_minor) == (
        "MUG",
        {"product_id": products[1].external_id},
        500,
    )


# ---- prices ----------------------------------------------------------------------------------


def test_push_prices(connector, sandbox: Sandbox, conn) -> None:  # type: ignore[no-untyped-def]
    seeded = sandbox.seed(
        [
            {"sku": "MUG", "quantity": 1, "price": "9.00"},
            {"sku": "TEE-R", "parent_sku": "TEE", "quantity": 1, "price": "20.00"},
        ]
    )
    usd = common_pb2.Money
    items = [
        pb.PriceItem(
            sku="MUG", price=usd(amount_minor=1250, currency="USD"), remote=_mapped(seeded["MUG"], 0).remote
        ),
        pb.PriceItem(
            sku="TEE-R",
            price=usd(amount_minor=1500, currency="USD"),
            compare_at_price=usd(amount_minor=2500, currency="USD"),
            remote=_mapped(seeded["TEE-R"], 0).remote,
        ),
        pb.PriceItem(
            sku="EUR", price=usd(amount_minor=100, currency="EUR"), remote=_mapped(seeded["MUG"], 0).remote
        ),
    ]
    response = connector.call(
        "PushPrices", pb.PushPricesRequest(connection=conn(currency="USD"), items=items)
    )
    assert [r.outcome for r in response.results] == [
        pb.ITEM_OUTCOME_APPLIED,
        pb.ITEM_OUTCOME_APPLIED,
        pb.ITEM_OUTCOME_REJECTED,
    ]
    assert response.calls == 2
    mug = sandbox.rest(f"products/{seeded['MUG']['product_id']}")
    assert mug["regular_price"] == "12.50"
    tee = seeded["TEE-R"]
    variation = sandbox.rest(f"products/{tee['product_id']}/variations/{tee['variation_id']}")
    assert (variation["regular_price"], variation["sale_price"]) == ("25.00", "15.00")


# ---- orders ----------------------------------------------------------------------------------


def _since_epoch() -> Timestamp:
    return Timestamp(seconds=0)


def test_fetch_orders_over_several_pages(connector, sandbox: Sandbox, conn) -> None:  # type: ignore[no-untyped-def]
    sandbox.seed([{"sku": "MUG", "quantity": 100, "price": "9.50"}])
    placed = [
        sandbox.post("/_sandbox/orders", {"lines": [{"sku": "MUG", "quantity": 1 + n % 2}]}) for n in range(7)
    ]
    seen: dict[str, pb.ChannelOrder] = {}
    cursor, calls = "", 0
    while True:
        response = connector.call(
            "FetchOrders",
            pb.FetchOrdersRequest(connection=conn(), updated_since=_since_epoch(), cursor=cursor, limit=3),
        )
        calls += 1
        for order in response.orders:
            seen[order.external_id] = order
        cursor = response.next_cursor
        if not cursor:
            break
        assert calls < 20, "paging did not end"
    assert set(seen) == {str(o["id"]) for o in placed}
    assert calls >= 3  # 7 orders, 3 per page
    first = seen[str(placed[0]["id"])]
    assert first.status == pb.ORDER_STATUS_PAID and first.raw_status == "processing"
    assert first.external_name == f"#{placed[0]['number']}"
    assert [(line.sku, line.quantity, line.unit_price.amount_minor) for line in first.lines] == [
        ("MUG", 1, 950)
    ]
    assert first.total.amount_minor == 950 and first.total.currency == "USD"
    assert first.updated_at.seconds > 0


def test_fulfillment_completes_the_order_with_a_tracking_note(connector, sandbox: Sandbox, conn) -> None:  # type: ignore[no-untyped-def]
    sandbox.seed(
        [{"sku": "MUG", "quantity": 10, "price": "9.50"}, {"sku": "CUP", "quantity": 10, "price": "4.00"}]
    )
    whole = sandbox.post("/_sandbox/orders", {"lines": [{"sku": "MUG", "quantity": 1}]})
    response = connector.call(
        "CreateFulfillment",
        pb.CreateFulfillmentRequest(
            connection=conn(),
            external_order_id=str(whole["id"]),
            carrier="UPS",
            tracking_number="1Z999AA10123456784",
            tracking_url="https://ups.example/track/1Z999AA10123456784",
        ),
    )
    assert response.external_fulfillment_id.startswith("tracking:")
    assert sandbox.rest(f"orders/{whole['id']}")["status"] == "completed"
    notes = sandbox.rest(f"orders/{whole['id']}/notes")
    assert any(n["customer_note"] and "1Z999AA10123456784" in n["note"] and "UPS" in n["note"] for n in notes)
    view = sandbox.get(f"/_sandbox/orders/{whole['id']}")
    assert [
        (t["custom_tracking_provider"], t["tracking_number"], t["custom_tracking_link"])
        for t in view["trackings"]
    ] == [("UPS", "1Z999AA10123456784", "https://ups.example/track/1Z999AA10123456784")]
    assert view["order"]["meta_data"][0]["key"] == "_wc_shipment_tracking_items"

    partial = sandbox.post(
        "/_sandbox/orders", {"lines": [{"sku": "MUG", "quantity": 1}, {"sku": "CUP", "quantity": 2}]}
    )
    line_id = str(partial["order"]["line_items"][0]["id"])
    connector.call(
        "CreateFulfillment",
        pb.CreateFulfillmentRequest(
            connection=conn(),
            external_order_id=str(partial["id"]),
            carrier="DHL",
            tracking_number="JD0001",
            lines=[pb.FulfillmentLine(external_line_id=line_id, sku="MUG", quantity=1)],
        ),
    )
    assert sandbox.rest(f"orders/{partial['id']}")["status"] == "processing"  # not everything shipped
    assert any("JD0001" in n["note"] for n in sandbox.rest(f"orders/{partial['id']}/notes"))

    with pytest.raises(grpc.RpcError) as caught:
        connector.call(
            "CreateFulfillment",
            pb.CreateFulfillmentRequest(connection=conn(), external_order_id="987654", carrier="UPS"),
        )
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_full_orders_and_cancellation(connector, sandbox: Sandbox, conn) -> None:  # type: ignore[no-untyped-def]
    sandbox.seed([{"sku": "MUG", "quantity": 10, "price": "9.50"}])
    placed = sandbox.post(
        "/_sandbox/orders",
        {
            "lines": [{"sku": "MUG", "quantity": 2, "discount": "1.00", "tax": "3.60"}],
            "billing": {"first_name": "Ann", "last_name": "Buyer"},
            "shipping": {"first_name": "Ann", "last_name": "Buyer", "city": "Lyon", "country": "FR"},
            "shipping_total": "5.00",
            "email": "ann@example.com",
        },
    )
    fetched = connector.call(
        "FetchOrders", pb.FetchOrdersRequest(connection=conn(), updated_since=_since_epoch())
    )
    order = {o.external_id: o for o in fetched.orders}[str(placed["id"])]
    assert (order.customer_name, order.customer_email) == ("Ann Buyer", "ann@example.com")
    assert (order.shipping_address.city, order.shipping_address.country_code) == ("Lyon", "FR")
    assert [
        m.amount_minor for m in (order.subtotal, order.discount_total, order.shipping_total, order.tax_total)
    ] == [
        1800,
        100,
        500,
        360,
    ]
    assert order.total.amount_minor == 2660
    assert (order.lines[0].discount.amount_minor, order.lines[0].tax.amount_minor) == (100, 360)
    assert dict(order.channel_status) == {"status": "processing"}

    reply = connector.call(
        "CancelOrder",
        pb.CancelOrderRequest(connection=conn(), external_order_id=str(placed["id"]), reason="customer"),
    )
    assert reply.external_id == str(placed["id"])
    assert sandbox.rest(f"orders/{placed['id']}")["status"] == "cancelled"
    with pytest.raises(grpc.RpcError) as refused:
        connector.call("CancelOrder", pb.CancelOrderRequest(connection=conn(), external_order_id="987654"))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION


# ---- webhooks --------------------------------------------------------------------------------


@dataclass
class Receiver:
    url: str
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A stand-in for the gateway's webhook endpoint: records what the sandbox delivers."""
    captured: list[tuple[dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            captured.append(({k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Receiver(f"http://127.0.0.1:{server.server_port}/webhooks/woocommerce/conn-woo-1", captured)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_sandbox_webhooks_ping_good_and_bad(connector, sandbox: Sandbox, conn, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    secret = "tenant-a-woo-hook-secret"
    sandbox.post("/_sandbox/webhooks", {"topic": "order.created", "address": receiver.url, "secret": secret})
    assert len(receiver.received) == 1  # the creation ping, delivered before subscribe returns
    ping_headers, ping_body = receiver.received[0]

    def parse(headers: dict[str, str], body: bytes, hook_secret: str = secret) -> pb.ParseWebhookResponse:
        request = pb.ParseWebhookRequest(
            connection=conn(webhook_secret=hook_secret), headers=headers, raw_body=body
        )
        return connector.call("ParseWebhook", request)

    ping = parse(ping_headers, ping_body)
    assert ping.kind == pb.WEBHOOK_KIND_PING and ping.delivery_id.startswith("ping:")

    sandbox.seed([{"sku": "MUG", "quantity": 10, "price": "9.50"}])
    placed = sandbox.post(
        "/_sandbox/orders", {"lines": [{"sku": "MUG", "quantity": 2}], "email": "c@example.com"}
    )
    headers, body = receiver.received[-1]
    parsed = parse(headers, body)
    assert parsed.kind == pb.WEBHOOK_KIND_ORDER and parsed.topic == "order.created"
    assert parsed.delivery_id == headers["x-wc-webhook-delivery-id"]
    (order,) = parsed.orders
    assert order.external_id == str(placed["id"]) and order.customer_email == "c@example.com"
    assert [(line.sku, line.quantity) for line in order.lines] == [("MUG", 2)]

    for bad_headers, bad_body, hook_secret in (
        (headers, body.replace(b'"quantity":2', b'"quantity":1'), secret),  # tampered body
        (headers, body, "someone-elses-secret"),  # wrong secret
        ({k: v for k, v in headers.items() if k != "x-wc-webhook-signature"}, body, secret),  # unsigned
        ({**headers, "x-wc-webhook-source": "https://attacker.example/"}, body, secret),  # other store
        (
            {**headers, "x-wc-webhook-topic": "customer.created", "x-wc-webhook-resource": "customer"},
            body,
            secret,
        ),  # a topic we never subscribe to
    ):
        with pytest.raises(grpc.RpcError) as caught:
            parse(bad_headers, bad_body, hook_secret)
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
