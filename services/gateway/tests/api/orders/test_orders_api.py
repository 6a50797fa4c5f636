"""Orders REST endpoints against a fake OrdersService (gRPC on 127.0.0.1:0, see conftest).

Covers API.md "Orders" at the gateway: filters → the OrderFilter sent, paging, Money with each
currency's decimals, problem+json for bad input and for the service's refusals (404, 409 with the
short lines, 422 for a reused Idempotency-Key), Idempotency-Key pass-through, ETag, the role policy
(viewers read, never write) and tenancy. The orders service's own rules are tested in its service.
"""

from __future__ import annotations

from typing import Any

import pytest

from omnistock.orders.v1 import orders_service_pb2 as pb

pytestmark = pytest.mark.redis

PROBLEM = "application/problem+json"
USD = {"currency": "USD"}


def money(minor: int, currency: str) -> Any:
    from omnistock.common.v1 import common_pb2

    return common_pb2.Money(amount_minor=minor, currency=currency)


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith(PROBLEM)
    return response.json


def seeded(orders: Any, tenant: str, **fields: Any) -> pb.Order:
    fields.setdefault("status", pb.ORDER_STATUS_PAID)
    fields.setdefault("source", "SHOPIFY")
    return orders.add(tenant, pb.Order(**fields))


def manual_order(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer_email": "ada@example.com",
        "lines": [
            {"sku": "TEE", "quantity": 2, "unit_price": {"amount": "19.99", **USD}},
            {"sku": "MUG", "quantity": 1, "unit_price": {"amount": "9.50", **USD}},
        ],
        "shipping": {"amount": "4.99", **USD},
    }
    body.update(overrides)
    return body


def test_list_sends_the_filters_and_pages_with_cursors(client: Any, owner: Any, orders: Any) -> None:
    for i in range(3):
        seeded(orders, owner.tenant_id, external_name=f"#{i}", customer_email=f"c{i}@x.test")
    seeded(orders, owner.tenant_id, status=pb.ORDER_STATUS_CANCELLED)

    url = (
        "/api/v1/orders?channel=shopify&status=paid,PARTIALLY_SHIPPED&status=PAID&flag=oversold"
        "&from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00%2B01:00&q=c1%40&limit=2&cursor=0"
    )
    assert client.get(url, headers=owner.auth).status_code == 200
    sent = orders.last("ListOrders")
    assert sent.filter.channel == "shopify" and sent.filter.query == "c1@"
    assert list(sent.filter.statuses) == [pb.ORDER_STATUS_PAID, pb.ORDER_STATUS_PARTIALLY_SHIPPED]
    assert list(sent.filter.flags) == [pb.ORDER_FLAG_OVERSOLD]
    assert (sent.filter.created_from.seconds, sent.filter.created_to.seconds) == (1767225600, 1769900400)
    assert (sent.page.limit, sent.page.cursor) == (2, "0")

    first = client.get("/api/v1/orders?status=PAID&limit=2", headers=owner.auth).json
    assert len(first["items"]) == 2 and first["next_cursor"] == "2"
    rest = client.get(f"/api/v1/orders?status=PAID&limit=2&cursor={first['next_cursor']}", headers=owner.auth)
    assert [o["external_name"] for o in first["items"] + rest.json["items"]] == ["#0", "#1", "#2"]
    assert rest.json["next_cursor"] is None
    assert orders.last("ListOrders").page.limit == 2 and not orders.last("ListOrders").filter.channel
    assert "raw_versions" not in rest.json["items"][0] and "history" not in rest.json["items"][0]


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("status=PAID,LOST", ["status[1]"]),
        ("flag=oversold&flag=vip", ["flag[1]"]),
        ("from=2026-01-01T00:00:00", ["from"]),
        ("from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", ["to"]),
        ("limit=0", ["limit"]),
        ("limit=501", ["limit"]),
        ("sort=total", ["sort"]),
        ("q=" + "x" * 201, ["q"]),
    ],
)
def test_bad_filters_are_a_400_naming_the_field(
    client: Any, owner: Any, orders: Any, query: str, fields: list[str]
) -> None:
    body = problem(client.get(f"/api/v1/orders?{query}", headers=owner.auth), 400)
    assert [error["field"] for error in body["errors"]] == fields
    assert orders.count("ListOrders") == 0


def test_money_is_a_decimal_string_with_the_currencys_decimals(client: Any, owner: Any, orders: Any) -> None:
    for currency, minor in (("USD", 1999), ("JPY", 1999), ("BHD", 19999)):
        seeded(
            orders,
            owner.tenant_id,
            external_name=currency,
            totals=pb.Totals(total=money(minor, currency), shipping=money(0, currency)),
            lines=[pb.OrderLine(id="l", sku="A", quantity=1, unit_price=money(minor, currency))],
        )
    items = {o["external_name"]: o for o in client.get("/api/v1/orders", headers=owner.auth).json["items"]}
    assert items["USD"]["total"] == {"amount": "19.99", "currency": "USD"}
    assert items["JPY"]["total"] == {"amount": "1999", "currency": "JPY"}
    assert items["BHD"]["total"] == {"amount": "19.999", "currency": "BHD"}
    assert items["BHD"]["lines"][0]["unit_price"]["amount"] == "19.999"
    assert items["JPY"]["totals"]["shipping"] == {"amount": "0", "currency": "JPY"}
    assert items["USD"]["totals"]["tax"] is None  # never set by the channel: null, not "0.00"


def test_get_carries_history_raw_versions_and_the_etag(client: Any, owner: Any, orders: Any) -> None:
    order = seeded(
        orders,
        owner.tenant_id,
        version=7,
        history=[pb.StatusChange(to_status=pb.ORDER_STATUS_PAID, actor="channel", reason="paid")],
        raw_versions=[pb.RawVersion(via="poll", payload_json='{"id": 5}')],
        flags=[pb.ORDER_FLAG_POSSIBLE_DUPLICATE],
        duplicate_of=["other-order"],
    )
    response = client.get(f"/api/v1/orders/{order.id}", headers=owner.auth)
    assert response.status_code == 200 and response.headers["ETag"] == '"7"'
    body = response.json
    assert body["history"] == [
        {"from_status": None, "to_status": "PAID", "at": None, "actor": "channel", "reason": "paid"}
    ]
    assert body["raw_versions"][0]["payload_json"] == '{"id": 5}'
    assert (body["flags"], body["duplicate_of"]) == (["possible_duplicate"], ["other-order"])
    assert problem(client.get("/api/v1/orders/nope", headers=owner.auth), 404)["status"] == 404


def test_another_tenants_order_is_a_404_for_every_verb(
    client: Any, owner: Any, orders: Any, helpers: Any
) -> None:
    order = seeded(orders, owner.tenant_id)
    other = helpers.register(client, "Globex", "owner@globex.test")
    base = f"/api/v1/orders/{order.id}"
    assert client.get(base, headers=other.auth).status_code == 404
    assert client.post(f"{base}/cancel", headers=other.auth).status_code == 404
    fulfil = {"carrier": "UPS", "tracking_number": "1Z"}
    assert client.post(f"{base}/fulfill", json=fulfil, headers=other.auth).status_code == 404
    assert client.get("/api/v1/orders", headers=other.auth).json["items"] == []
    assert orders.orders[owner.tenant_id][order.id].status == pb.ORDER_STATUS_PAID


def test_manual_order_is_created_once_per_idempotency_key(client: Any, owner: Any, orders: Any) -> None:
    headers = {**owner.auth, "Idempotency-Key": "pos-1042"}
    created = client.post("/api/v1/orders", json=manual_order(), headers=headers)
    assert created.status_code == 201, created.json
    body = created.json
    assert created.headers["Location"] == f"/api/v1/orders/{body['id']}" and created.headers["ETag"] == '"1"'
    assert (body["source"], body["status"], body["total"]) == (
        "MANUAL",
        "PENDING",
        {"amount": "54.47", **USD},
    )
    sent = orders.last("CreateOrder")
    assert (sent.idempotency_key, sent.currency) == ("pos-1042", "USD")
    assert [(line.sku, line.quantity, line.unit_price.amount_minor) for line in sent.lines] == [
        ("TEE", 2, 1999),
        ("MUG", 1, 950),
    ]

    again = client.post("/api/v1/orders", json=manual_order(), headers=headers)
    assert again.status_code == 201 and again.json["id"] == body["id"]
    assert len(orders.orders[owner.tenant_id]) == 1

    reused = client.post(
        "/api/v1/orders", json=manual_order(customer_email="bob@example.com"), headers=headers
    )
    assert problem(reused, 422)["reason"] == "IDEMPOTENCY_KEY_REUSED"
    assert len(orders.orders[owner.tenant_id]) == 1

    without_key = client.post("/api/v1/orders", json=manual_order(), headers=owner.auth)
    assert without_key.status_code == 201 and orders.last("CreateOrder").idempotency_key == ""


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (manual_order(shipping={"amount": "4.99", "currency": "EUR"}), "body"),
        (manual_order(lines=[]), "lines"),
        (manual_order(customer_email="not-an-email"), "customer_email"),
        (manual_order(status="SHIPPED"), "status"),
        (
            manual_order(lines=[{"sku": "A", "quantity": 0, "unit_price": {"amount": "1", **USD}}]),
            "lines[0].quantity",
        ),
        (
            manual_order(lines=[{"sku": "A", "quantity": 1, "unit_price": {"amount": 1.5, **USD}}]),
            "lines[0].unit_price.amount",
        ),
    ],
)
def test_bad_manual_orders_are_a_400_and_never_reach_the_service(
    client: Any, owner: Any, orders: Any, body: dict[str, Any], field: str
) -> None:
    errors = problem(client.post("/api/v1/orders", json=body, headers=owner.auth), 400)["errors"]
    assert field in [error["field"] for error in errors]
    assert orders.count("CreateOrder") == 0


def test_a_bad_idempotency_key_is_a_400(client: Any, owner: Any, orders: Any) -> None:
    headers = {**owner.auth, "Idempotency-Key": "k" * 257}
    assert (
        problem(client.post("/api/v1/orders", json=manual_order(), headers=headers), 400)["errors"][0][
            "field"
        ]
        == "Idempotency-Key"
    )
    assert orders.count("CreateOrder") == 0


def test_fulfil_part_then_the_rest_and_the_409s(client: Any, owner: Any, orders: Any) -> None:
    order = client.post("/api/v1/orders", json=manual_order(), headers=owner.auth).json
    tee, mug = order["lines"]
    url = f"/api/v1/orders/{order['id']}/fulfill"
    headers = {**owner.auth, "Idempotency-Key": "ship-1"}
    part = {"carrier": "UPS", "tracking_number": "1Z1", "lines": [{"line_id": tee["id"], "quantity": 2}]}
    first = client.post(url, json=part, headers=headers)
    assert first.status_code == 200, first.json
    assert first.json["order"]["status"] == "PARTIALLY_SHIPPED" and first.headers["ETag"] == '"2"'
    assert first.json["fulfillment"]["sync_state"] == "pending"
    assert first.json["fulfillment"]["lines"] == [{"line_id": tee["id"], "sku": "TEE", "quantity": 2}]
    sent = orders.last("FulfillOrder")
    assert (sent.idempotency_key, sent.carrier, list(sent.lines)) == (
        "ship-1",
        "UPS",
        [pb.FulfillmentLine(line_id=tee["id"], quantity=2)],
    )
    assert client.post(url, json=part, headers=headers).json == first.json  # a repeat ships nothing more

    short = client.post(
        url,
        json={"carrier": "UPS", "tracking_number": "1Z2", "lines": [{"sku": "MUG", "quantity": 3}]},
        headers=owner.auth,
    )
    assert problem(short, 409)["lines"] == [{"sku": "MUG", "requested": 3, "available": 1}]

    rest = client.post(
        url,
        json={"carrier": "DHL", "tracking_number": "JD1", "tracking_url": "https://dhl.test/JD1"},
        headers=owner.auth,
    )
    assert rest.json["order"]["status"] == "SHIPPED" and orders.last("FulfillOrder").lines == []
    assert [f["tracking_number"] for f in rest.json["order"]["fulfillments"]] == ["1Z1", "JD1"]
    assert mug["quantity"] == 1 and rest.json["order"]["lines"][1]["quantity_shipped"] == 1

    refused = client.post(f"/api/v1/orders/{order['id']}/cancel", headers=owner.auth)
    assert problem(refused, 409)["reason"] == "ALREADY_SHIPPED"

    both = {
        "carrier": "UPS",
        "tracking_number": "1",
        "lines": [{"line_id": tee["id"], "sku": "TEE", "quantity": 1}],
    }
    assert problem(client.post(url, json=both, headers=owner.auth), 400)["errors"][0]["field"] == "lines[0]"


def test_cancel_with_or_without_a_body_returns_and_duplicate_decisions(
    client: Any, owner: Any, orders: Any
) -> None:
    plain = client.post("/api/v1/orders", json=manual_order(), headers=owner.auth).json
    cancelled = client.post(
        f"/api/v1/orders/{plain['id']}/cancel", headers={**owner.auth, "Idempotency-Key": "c-1"}
    )
    assert cancelled.status_code == 200 and cancelled.json["status"] == "CANCELLED"
    assert (orders.last("CancelOrder").reason, orders.last("CancelOrder").idempotency_key) == ("", "c-1")
    assert [line["quantity_reserved"] for line in cancelled.json["lines"]] == [0, 0]

    second = client.post("/api/v1/orders", json=manual_order(), headers=owner.auth).json
    with_reason = client.post(
        f"/api/v1/orders/{second['id']}/cancel", json={"reason": "fraud"}, headers=owner.auth
    )
    assert with_reason.status_code == 200 and orders.last("CancelOrder").reason == "fraud"
    bad = client.post(f"/api/v1/orders/{second['id']}/cancel", json={"reason": 5}, headers=owner.auth)
    assert problem(bad, 400)["errors"][0]["field"] == "reason"

    shipped = client.post("/api/v1/orders", json=manual_order(), headers=owner.auth).json
    client.post(
        f"/api/v1/orders/{shipped['id']}/fulfill",
        json={"carrier": "UPS", "tracking_number": "1"},
        headers=owner.auth,
    )
    returned = client.post(
        f"/api/v1/orders/{shipped['id']}/returns",
        json={"lines": [{"sku": "TEE", "quantity": 1, "restock": True}], "reason": "too small"},
        headers={**owner.auth, "Idempotency-Key": "r-1"},
    )
    assert returned.status_code == 200 and returned.json["lines"][0]["quantity_returned"] == 1
    sent = orders.last("ReturnOrderItems")
    assert (sent.reason, sent.idempotency_key, sent.lines[0].restock, sent.lines[0].sku) == (
        "too small",
        "r-1",
        True,
        "TEE",
    )
    no_restock = client.post(
        f"/api/v1/orders/{shipped['id']}/returns",
        json={"lines": [{"sku": "TEE", "quantity": 1}]},
        headers=owner.auth,
    )
    assert problem(no_restock, 400)["errors"][0]["field"] == "lines[0].restock"

    dup = seeded(orders, owner.tenant_id, flags=[pb.ORDER_FLAG_POSSIBLE_DUPLICATE, pb.ORDER_FLAG_OVERSOLD])
    kept = client.post(
        f"/api/v1/orders/{dup.id}/duplicate-resolution", json={"decision": "keep"}, headers=owner.auth
    )
    assert kept.status_code == 200 and kept.json["flags"] == ["oversold"]
    assert orders.last("ResolveDuplicate").decision == "keep"
    merge = client.post(
        f"/api/v1/orders/{dup.id}/duplicate-resolution", json={"decision": "merge"}, headers=owner.auth
    )
    assert problem(merge, 400)["errors"][0]["field"] == "decision"


def test_viewers_read_orders_but_never_write(client: Any, owner: Any, orders: Any, helpers: Any) -> None:
    order = seeded(
        orders, owner.tenant_id, lines=[pb.OrderLine(id="l1", sku="A", quantity=1, quantity_reserved=1)]
    )
    created = client.post(
        "/api/v1/users",
        json={"email": "v@acme.test", "password": "correct-horse", "role": "viewer"},
        headers=owner.auth,
    )
    assert created.status_code == 201, created.json
    viewer = helpers.bearer(helpers.login(client, "v@acme.test")["access_token"])

    assert client.get("/api/v1/orders", headers=viewer).status_code == 200
    assert client.get(f"/api/v1/orders/{order.id}", headers=viewer).status_code == 200
    assert client.get("/api/v1/orders/export", headers=viewer).status_code == 200
    writes = [
        client.post("/api/v1/orders", json=manual_order(), headers=viewer),
        client.post(
            f"/api/v1/orders/{order.id}/fulfill",
            json={"carrier": "UPS", "tracking_number": "1"},
            headers=viewer,
        ),
        client.post(f"/api/v1/orders/{order.id}/cancel", headers=viewer),
        client.post(
            f"/api/v1/orders/{order.id}/returns",
            json={"lines": [{"sku": "A", "quantity": 1, "restock": True}]},
            headers=viewer,
        ),
        client.post(
            f"/api/v1/orders/{order.id}/duplicate-resolution", json={"decision": "keep"}, headers=viewer
        ),
    ]
    assert [problem(w, 403)["status"] for w in writes] == [403] * 5
    written = ("CreateOrder", "FulfillOrder", "CancelOrder", "ReturnOrderItems", "ResolveDuplicate")
    assert [orders.count(rpc) for rpc in written] == [0] * 5
    assert problem(client.get("/api/v1/orders"), 401)["status"] == 401
    # What the viewer did reach the service as the viewer (the orders server checks it too).
    assert {(c.tenant_id, c.role) for c in orders.contexts} == {(owner.tenant_id, "viewer")}


def test_readyz_asks_the_orders_backend(
    app_factory: Any, sqlite_url: str, fake_orders: Any, fake_catalog: Any
) -> None:
    backends = {"catalog": f"127.0.0.1:{fake_catalog[1].port}", "orders": f"127.0.0.1:{fake_orders[1].port}"}
    ready = app_factory(sqlite_url, backends=backends).test_client().get("/readyz")
    assert ready.status_code == 200 and ready.json["backends"] == {"catalog": "SERVING", "orders": "SERVING"}
