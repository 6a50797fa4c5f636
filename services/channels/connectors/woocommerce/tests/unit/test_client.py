"""WooCommerceClient over an in-process httpx.MockTransport: what each store answer means."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock_common.egress import HOST_NOT_ALLOWED, AllowList, EgressPolicy
from omnistock_common.errors import FailedPrecondition, InvalidArgument, NotFound, Unauthenticated
from omnistock_connector_kit.channel_http import InMemoryTokenBucket, RetryPolicy
from omnistock_connector_kit.clients import ChannelHttpFactory
from omnistock_connector_kit.connector_base import CREDENTIALS_REVOKED, ResourceExhausted, Unavailable
from woocommerce_connector import protocol as p
from woocommerce_connector.client import ClientFactory

Handler = Callable[[httpx.Request], httpx.Response]


def _connection() -> pb.ConnectionContext:
    return pb.ConnectionContext(
        connection_id="conn-1",
        tenant_id="t1",
        channel_type="woocommerce",
        settings={"store_url": "https://shop.test"},
        credentials=pb.Credentials(secrets={"consumer_key": "ck_1", "consumer_secret": "cs_1"}),
    )


def _factory(handler: Handler, sleeps: list[float] | None = None) -> ClientFactory:
    waits = sleeps if sleeps is not None else []
    transport = httpx.MockTransport(handler)
    return ClientFactory(
        ChannelHttpFactory(
            limiter=InMemoryTokenBucket(1000, 1000),
            retry=RetryPolicy(max_attempts=3, base_delay=0.01),
            sleep=waits.append,
            transport=lambda: transport,
            egress=EgressPolicy(allowed=AllowList.parse("shop.test:*")),
        )
    )


def _batch_echo(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    return httpx.Response(200, json={"update": [{"id": u["id"], **u} for u in body["update"]]})


def test_basic_auth_and_paths() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _batch_echo(request)

    plan = p.plan_inventory(
        [("A", 1, {"product_id": "1"}), ("V", 2, {"product_id": "9", "variation_id": "10"})]
    )
    with _factory(handler).open(_connection()) as client:
        outcomes = client.run_batches(plan)
        assert client.calls == 2
    assert [o.outcome for o in outcomes] == [p.Outcome.APPLIED, p.Outcome.APPLIED]
    assert [r.url.path for r in seen] == [
        "/wp-json/wc/v3/products/batch",
        "/wp-json/wc/v3/products/9/variations/batch",
    ]
    assert seen[0].headers["authorization"] == httpx.BasicAuth("ck_1", "cs_1")._auth_header


def test_wrong_keys_are_unauthenticated_naming_the_store() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            401,
            json={
                "code": "woocommerce_rest_cannot_view",
                "message": "Sorry, you cannot list resources.",
                "data": {"status": 401},
            },
        )

    with _factory(handler).open(_connection()) as client, pytest.raises(Unauthenticated) as caught:
        client.validate()
    assert caught.value.reason == CREDENTIALS_REVOKED
    assert "shop.test" in caught.value.message
    assert "woocommerce_rest_cannot_view" in caught.value.message


def test_missing_keys_are_unauthenticated_before_any_call() -> None:
    connection = _connection()
    del connection.credentials.secrets["consumer_secret"]
    with pytest.raises(Unauthenticated), _factory(_batch_echo).open(connection):
        pass


def test_first_batch_exhausting_retries_fails_the_rpc_with_retry_info() -> None:
    sleeps: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "2"}, json={"code": "too_many"})

    plan = p.plan_inventory([("A", 1, {"product_id": "1"})])
    with _factory(handler, sleeps).open(_connection()) as client, pytest.raises(ResourceExhausted) as caught:
        client.run_batches(plan)
    assert caught.value.retry_after == 2.0
    assert sleeps and min(sleeps) >= 2.0  # Retry-After honoured between attempts


def test_later_batch_failing_keeps_applied_items_and_retries_the_rest() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body["update"][0]["id"] == 1:
            return _batch_echo(request)
        return httpx.Response(503, json={"code": "down"})

    plan = p.plan_inventory([(f"S{i}", 1, {"product_id": str(i + 1)}) for i in range(250)])
    with _factory(handler).open(_connection()) as client:
        outcomes = client.run_batches(plan)
        calls = client.calls
    assert calls == 1 + 3  # first batch once, second batch three attempts, third never sent
    by_outcome = {o: [r.sku for r in outcomes if r.outcome is o] for o in p.Outcome}
    assert by_outcome[p.Outcome.APPLIED] == [f"S{i}" for i in range(100)]
    assert by_outcome[p.Outcome.RETRY] == [f"S{i}" for i in range(100, 250)]


def test_first_batch_5xx_exhausted_is_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500)

    plan = p.plan_inventory([("A", 1, {"product_id": "1"})])
    with _factory(handler).open(_connection()) as client, pytest.raises(Unavailable):
        client.run_batches(plan)


def test_batch_refused_as_a_whole_rejects_only_its_items() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if "/variations/" in request.url.path:
            return httpx.Response(
                404, json={"code": "woocommerce_rest_product_invalid_id", "message": "Invalid ID."}
            )
        return _batch_echo(request)

    plan = p.plan_inventory(
        [("A", 1, {"product_id": "1"}), ("V", 2, {"product_id": "9", "variation_id": "10"})]
    )
    with _factory(handler).open(_connection()) as client:
        outcomes = {o.sku: o for o in client.run_batches(plan)}
    assert outcomes["A"].outcome is p.Outcome.APPLIED
    assert outcomes["V"].outcome is p.Outcome.REJECTED
    assert outcomes["V"].message == "rejected by WooCommerce (woocommerce_rest_product_invalid_id)"
    assert "Invalid ID." not in outcomes["V"].message  # remote free text never reaches a tenant


def _orders_handler(orders: list[dict[str, object]], seen: list[httpx.Request]) -> Handler:
    """A store that filters modified_after strictly and pages like WP (X-WP-TotalPages)."""

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        after = request.url.params["modified_after"]
        per_page, page = int(request.url.params["per_page"]), int(request.url.params["page"])
        matching = sorted(
            (o for o in orders if str(o["date_modified_gmt"]) > after),
            key=lambda o: (str(o["date_modified_gmt"]), int(str(o["id"]))),
        )
        pages = -(-len(matching) // per_page)
        chunk = matching[(page - 1) * per_page : page * per_page]
        return httpx.Response(200, json=chunk, headers={"X-WP-TotalPages": str(pages)})

    return handler


def _order(order_id: int, modified: str) -> dict[str, object]:
    return {
        "id": order_id,
        "status": "processing",
        "currency": "USD",
        "total": "1.00",
        "date_modified_gmt": modified,
    }


def _fetch_all(factory: ClientFactory, since: datetime, limit: int) -> list[str]:
    ids: list[str] = []
    cursor = ""
    for _ in range(50):
        with factory.open(_connection()) as client:
            result = client.fetch_orders(since, cursor, limit)
        ids += [o.external_id for o in result.orders]
        cursor = result.next_cursor
        if not cursor:
            return ids
    raise AssertionError("paging did not end")


def test_fetch_orders_pages_through_everything_with_an_opaque_cursor() -> None:
    orders = [_order(i, f"2024-01-01T00:00:{i:02d}") for i in range(1, 8)]
    orders += [_order(i, "2024-01-01T00:01:00") for i in range(8, 13)]  # five share one second
    seen: list[httpx.Request] = []
    ids = _fetch_all(_factory(_orders_handler(orders, seen)), datetime(2023, 12, 31, tzinfo=UTC), 2)
    # Nothing is skipped; the re-read of the newest second may repeat an order, never lose one.
    assert set(ids) == {str(i) for i in range(1, 13)}
    params = seen[0].url.params
    assert params["modified_after"] == "2023-12-31T00:00:00"
    assert params["orderby"] == "modified" and params["order"] == "asc" and params["per_page"] == "2"
    assert params["dates_are_gmt"] == "true"


def test_fetch_orders_does_not_skip_an_order_modified_while_paging() -> None:
    orders = [_order(i, f"2024-01-01T00:00:{i:02d}") for i in range(1, 7)]
    seen: list[httpx.Request] = []
    factory = _factory(_orders_handler(orders, seen))
    since = datetime(2023, 12, 31, tzinfo=UTC)
    with factory.open(_connection()) as client:
        first = client.fetch_orders(since, "", 2)
    assert [o.external_id for o in first.orders] == ["1", "2"]
    orders[0]["date_modified_gmt"] = "2024-01-01T00:05:00"  # order 1 moves to the end
    ids = [o.external_id for o in first.orders]
    cursor = first.next_cursor
    while cursor:
        with factory.open(_connection()) as client:
            result = client.fetch_orders(since, cursor, 2)
        ids += [o.external_id for o in result.orders]
        cursor = result.next_cursor
    # Plain page numbers would have skipped order 3 (it shifted onto page 1).
    assert set(ids) == {"1", "2", "3", "4", "5", "6"}


def test_fetch_orders_rejects_a_foreign_cursor() -> None:
    with _factory(_orders_handler([], [])).open(_connection()) as client, pytest.raises(InvalidArgument):
        client.fetch_orders(None, "garbage!", 10)


TRACKING = "/wp-json/wc-shipment-tracking/v3/orders/5/shipment-trackings"


def _fulfillment_handler(
    seen: list[tuple[str, str, object]],
    *,
    tracking: list[dict[str, object]] | None = None,
    notes: list[dict[str, object]] | None = None,
) -> Handler:
    """A store with order 5; `tracking` None: no Shipment Tracking extension (404 rest_no_route)."""
    order = {"id": 5, "status": "processing", "line_items": [{"id": 1, "sku": "A", "quantity": 2}]}

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        path = request.url.path
        seen.append((request.method, path.removeprefix("/wp-json/wc/v3/"), body))
        if path == TRACKING:
            if tracking is None:
                return httpx.Response(404, json={"code": "rest_no_route", "message": "No route."})
            if request.method == "GET":
                return httpx.Response(200, json=tracking)
            return httpx.Response(201, json={"tracking_id": "trk-1", **(body or {})})
        if path.endswith("/notes"):
            if request.method == "GET":
                return httpx.Response(200, json=notes or [])
            return httpx.Response(201, json={"id": 77, "note": body["note"]})
        if request.method == "PUT":
            return httpx.Response(200, json={**order, **(body or {})})
        return httpx.Response(200, json=order)

    return handler


def test_fulfillment_of_the_whole_order_notes_then_completes() -> None:
    seen: list[tuple[str, str, object]] = []
    with _factory(_fulfillment_handler(seen)).open(_connection()) as client:
        fid = client.create_fulfillment("5", "UPS", "1Z9", "https://t.example/1Z9", [])
    assert fid == "note:77"
    assert [(m, path) for m, path, _ in seen] == [
        ("GET", TRACKING),
        ("GET", "orders/5/notes"),
        ("POST", "orders/5/notes"),
        ("PUT", "orders/5"),
    ]
    note_body = seen[2][2]
    assert isinstance(note_body, dict) and note_body["customer_note"] is True
    assert "UPS" in note_body["note"] and "1Z9" in note_body["note"]
    assert seen[3][2] == {"status": "completed"}


def test_fulfillment_adds_a_shipment_tracking_item_when_the_store_has_the_extension() -> None:
    seen: list[tuple[str, str, object]] = []
    with _factory(_fulfillment_handler(seen, tracking=[])).open(_connection()) as client:
        fid = client.create_fulfillment("5", "UPS", "1Z9", "https://t.example/1Z9", [])
    assert fid == "tracking:trk-1"
    posted = [body for method, path, body in seen if (method, path) == ("POST", TRACKING)]
    assert len(posted) == 1
    item = posted[0]
    assert isinstance(item, dict)
    assert {k: item[k] for k in ("custom_tracking_provider", "custom_tracking_link", "tracking_number")} == {
        "custom_tracking_provider": "UPS",
        "custom_tracking_link": "https://t.example/1Z9",
        "tracking_number": "1Z9",
    }
    assert len(str(item["date_shipped"])) == 10  # YYYY-MM-DD
    assert p.tracking_item_body("UPS", "1", "", "2025-07-01") == {
        "tracking_number": "1",
        "date_shipped": "2025-07-01",
        "tracking_provider": "UPS",
    }


def test_a_retried_fulfillment_adds_neither_tracking_nor_note_twice() -> None:
    seen: list[tuple[str, str, object]] = []
    note = p.fulfillment_note("UPS", "1Z9", "", [])
    handler = _fulfillment_handler(
        seen, tracking=[{"tracking_id": "trk-0", "tracking_number": "1Z9"}], notes=[{"id": 70, "note": note}]
    )
    with _factory(handler).open(_connection()) as client:
        assert client.create_fulfillment("5", "UPS", "1Z9", "", []) == "tracking:trk-0"
    assert [m for m, _, _ in seen if m == "POST"] == []
    assert seen[-1][:2] == ("PUT", "orders/5")


def test_partial_fulfillment_only_adds_a_note() -> None:
    seen: list[tuple[str, str, object]] = []
    lines = [pb.FulfillmentLine(external_line_id="1", sku="A", quantity=1)]
    with _factory(_fulfillment_handler(seen)).open(_connection()) as client:
        client.create_fulfillment("5", "DHL", "X", "", lines)
    assert [(m, path) for m, path, _ in seen] == [
        ("GET", "orders/5"),
        ("GET", TRACKING),
        ("GET", "orders/5/notes"),
        ("POST", "orders/5/notes"),
    ]


def test_cancel_puts_status_cancelled_and_a_refusal_is_failed_precondition() -> None:
    seen: list[tuple[str, str, object]] = []
    with _factory(_fulfillment_handler(seen)).open(_connection()) as client:
        assert client.cancel_order("5") == "5"
    assert seen == [("PUT", "orders/5", {"status": "cancelled"})]

    def refusing(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            400, json={"code": "woocommerce_rest_shop_order_invalid_id", "message": "Invalid ID."}
        )

    with _factory(refusing).open(_connection()) as client, pytest.raises(FailedPrecondition) as refused:
        client.cancel_order("5")
    assert "woocommerce_rest_shop_order_invalid_id" in refused.value.message


def test_fulfillment_of_unknown_order_is_not_found_and_bad_id_invalid() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            404, json={"code": "woocommerce_rest_shop_order_invalid_id", "message": "Invalid ID."}
        )

    with _factory(handler).open(_connection()) as client:
        with pytest.raises(NotFound):
            client.create_fulfillment("5", "UPS", "1", "", [])
        with pytest.raises(InvalidArgument):
            client.create_fulfillment("abc", "UPS", "1", "", [])


def test_other_4xx_is_failed_precondition_with_woo_message() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            400, json={"code": "rest_invalid_param", "message": "Invalid parameter(s): page"}
        )

    with _factory(handler).open(_connection()) as client, pytest.raises(FailedPrecondition) as caught:
        client.fetch_orders(None, "", 10)
    assert "rest_invalid_param" in caught.value.message


def test_read_inventory_reports_unknown_ids_as_not_found() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/wp-json/wc/v3/")
        wanted = [int(i) for i in request.url.params["include"].split(",")]
        if path == "products":
            return httpx.Response(200, json=[{"id": i, "stock_quantity": i * 10} for i in wanted if i != 2])
        if path == "products/9/variations":
            return httpx.Response(200, json=[{"id": 10, "stock_quantity": 4}])
        return httpx.Response(404, json={"code": "woocommerce_rest_product_invalid_id"})

    items = [
        ("A", {"product_id": "1"}),
        ("GONE", {"product_id": "2"}),
        ("V", {"product_id": "9", "variation_id": "10"}),
        ("VGONE", {"product_id": "9", "variation_id": "11"}),
        ("PARENTGONE", {"product_id": "50", "variation_id": "51"}),
        ("UNMAPPED", {}),
    ]
    with _factory(handler).open(_connection()) as client:
        results = client.read_inventory(items)
    assert [(r.sku, r.quantity, r.found) for r in results] == [
        ("A", 10, True),
        ("GONE", 0, False),
        ("V", 4, True),
        ("VGONE", 0, False),
        ("PARENTGONE", 0, False),
        ("UNMAPPED", 0, False),
    ]


def test_list_products_expands_variable_products() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/wp-json/wc/v3/")
        if path == "products":
            products = [
                {"id": 1, "sku": "MUG", "name": "Mug", "type": "simple", "stock_quantity": 3},
                {"id": 2, "sku": "", "name": "Tee", "type": "variable", "variations": [3, 4]},
            ]
            return httpx.Response(200, json=products, headers={"X-WP-TotalPages": "2"})
        page = int(request.url.params["page"])
        variation = {"id": 2 + page, "sku": f"TEE-{page}", "stock_quantity": page}
        return httpx.Response(200, json=[variation], headers={"X-WP-TotalPages": "2"})

    with _factory(handler).open(_connection()) as client:
        page = client.list_products("", 0)
    assert [(r.sku, r.ids) for r in page.products] == [
        ("MUG", {"product_id": "1"}),
        ("TEE-1", {"product_id": "2", "variation_id": "3"}),
        ("TEE-2", {"product_id": "2", "variation_id": "4"}),
    ]
    assert p.decode_products_cursor(page.next_cursor) == p.ProductsCursor(2, 100)


# ---- where the keys may go (issue 12: egress) ------------------------------------------------
def _settings_connection(**settings: str) -> pb.ConnectionContext:
    return pb.ConnectionContext(
        connection_id="conn-1",
        tenant_id="t1",
        channel_type="woocommerce",
        settings=settings,
        credentials=pb.Credentials(secrets={"consumer_key": "ck_1", "consumer_secret": "cs_1"}),
    )


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"store_url": "https://shop.example"}, "https://shop.example/wp-json/wc/v3"),
        ({"store_url": "https://example.com/shop/"}, "https://example.com/shop/wp-json/wc/v3"),
        ({"api_base_url": "https://shop.example/wp-json/wc/v3"}, "https://shop.example/wp-json/wc/v3"),
        (
            {"store_url": "https://shop.example", "api_base_url": "https://shop.example/wp-json/wc/v3/"},
            "https://shop.example/wp-json/wc/v3",
        ),
    ],
)
def test_the_rest_root_comes_from_the_store(settings: dict[str, str], expected: str) -> None:
    assert (
        ClientFactory(ChannelHttpFactory(limiter=InMemoryTokenBucket(1, 1))).base_url(
            _settings_connection(**settings)
        )
        == expected
    )


@pytest.mark.parametrize(
    "settings",
    [
        {"store_url": "http://shop.example"},  # a real store must be https
        {"store_url": "https://shop.example:8443"},
        {"store_url": "https://shop.example", "api_base_url": "https://other.example/wp-json/wc/v3"},
        {"api_base_url": "http://shop.example/wp-json/wc/v3"},
        {"api_base_url": "https://shop.example/custom-api"},  # not a REST root: no store to derive
        {"store_url": "https://user:pw@shop.example"},
    ],
)
def test_other_hosts_need_the_operators_allow_list(settings: dict[str, str]) -> None:
    with pytest.raises(InvalidArgument) as caught:
        ClientFactory(ChannelHttpFactory(limiter=InMemoryTokenBucket(1, 1))).base_url(
            _settings_connection(**settings)
        )
    assert caught.value.message == HOST_NOT_ALLOWED


def test_an_allowed_test_store_may_be_plain_http_on_any_port() -> None:
    factory = ClientFactory(
        ChannelHttpFactory(
            limiter=InMemoryTokenBucket(1, 1),
            egress=EgressPolicy(allowed=AllowList.parse("shop.example:8080")),
        )
    )
    connection = _settings_connection(store_url="http://shop.example:8080")
    assert factory.base_url(connection) == "http://shop.example:8080/wp-json/wc/v3"
