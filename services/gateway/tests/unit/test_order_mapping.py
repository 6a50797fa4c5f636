"""gateway.mapping.orders and order_rows: filters, money with each currency's decimals, nulls for
what was never set, and the export's rows."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway import orders_schemas as s
from gateway.mapping import order_rows
from gateway.mapping import orders as m
from omnistock.common.v1 import common_pb2
from omnistock.orders.v1 import orders_service_pb2 as pb
from omnistock_common.timestamps import to_timestamp


def money(minor: int, currency: str) -> common_pb2.Money:
    return common_pb2.Money(amount_minor=minor, currency=currency)


def test_filters_become_one_order_filter() -> None:
    query = s.OrderListQuery.model_validate(
        {
            "channel": "shopify",
            "status": ["paid,SHIPPED", "Paid"],
            "from": "2026-01-01T00:00:00Z",
            "to": "2026-02-01T00:00:00+01:00",
            "q": "ada@",
            "flag": "OVERSOLD,possible_duplicate",
            "limit": "20",
            "cursor": "abc",
        }
    )
    request = m.list_request(query)
    assert list(request.filter.statuses) == [pb.ORDER_STATUS_PAID, pb.ORDER_STATUS_SHIPPED]
    assert list(request.filter.flags) == [pb.ORDER_FLAG_OVERSOLD, pb.ORDER_FLAG_POSSIBLE_DUPLICATE]
    assert (request.filter.channel, request.filter.query) == ("shopify", "ada@")
    assert request.filter.created_from == to_timestamp(datetime(2026, 1, 1, tzinfo=UTC))
    assert request.filter.created_to == to_timestamp(datetime(2026, 1, 31, 23, tzinfo=UTC))
    assert (request.page.limit, request.page.cursor) == (20, "abc")
    empty = m.export_request(s.OrderExportQuery.model_validate({})).filter
    assert empty == pb.OrderFilter()  # no filter: nothing set, every order


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"status": "PAID,LOST"}, "status"),
        ({"flag": ["oversold", "vip"]}, "flag"),
        ({"from": "2026-01-01T00:00:00"}, "from"),
        (
            {"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
            "to\n  Value error, must be after `from`",
        ),
        ({"limit": "501"}, "limit"),
        ({"sort": "total"}, "sort"),
    ],
)
def test_bad_filters_name_their_field(args: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        s.OrderListQuery.model_validate(args)
    assert field in str(exc.value)


@pytest.mark.parametrize(
    ("minor", "currency", "amount"),
    [
        (1999, "USD", "19.99"),
        (5, "USD", "0.05"),
        (1999, "JPY", "1999"),
        (19999, "BHD", "19.999"),
        (0, "BHD", "0.000"),
    ],
)
def test_money_uses_the_currencys_minor_units(minor: int, currency: str, amount: str) -> None:
    out = m.money_out(money(minor, currency))
    assert out is not None and (out.amount, out.currency) == (amount, currency)
    assert order_rows.amount(money(minor, currency)) == amount


def test_unset_fields_are_null_not_zero() -> None:
    order = pb.Order(id="o1", status=pb.ORDER_STATUS_PAID, lines=[pb.OrderLine(id="l1", sku="A", quantity=1)])
    out = m.order_out(order)
    assert out.total is None and out.shipping_address is None and out.created_at is None
    assert out.lines[0].unit_price is None and out.lines[0].discount is None
    assert out.totals.model_dump() == dict.fromkeys(("subtotal", "discount", "shipping", "tax", "total"))


def test_a_full_order_and_its_detail() -> None:
    order = pb.Order(
        id="o1",
        source="SHOPIFY",
        status=pb.ORDER_STATUS_PARTIALLY_SHIPPED,
        flags=[pb.ORDER_FLAG_POSSIBLE_DUPLICATE, pb.ORDER_FLAG_UNMAPPED_SKU],
        duplicate_of=["o0"],
        channel_status={"fulfillment_status": "partial", "financial_status": "paid"},
        totals=pb.Totals(total=money(1050, "JPY")),
        shipping_address=pb.Address(name="Ada", country_code="JP"),
        fulfillments=[
            pb.Fulfillment(
                id="f1",
                carrier="Yamato",
                tracking_number="T1",
                sync_state=pb.FULFILLMENT_SYNC_STATE_SYNCED,
                lines=[pb.FulfillmentLine(line_id="l1", sku="A", quantity=1)],
            )
        ],
        history=[
            pb.StatusChange(to_status=pb.ORDER_STATUS_PENDING, actor="channel"),
            pb.StatusChange(
                from_status=pb.ORDER_STATUS_PENDING, to_status=pb.ORDER_STATUS_PAID, actor="channel"
            ),
        ],
        raw_versions=[pb.RawVersion(via="webhook", payload_json='{"id": 1}')],
        version=4,
    )
    detail = m.order_detail_out(order).model_dump(mode="json")
    assert detail["status"] == "PARTIALLY_SHIPPED" and detail["version"] == 4
    assert detail["flags"] == ["possible_duplicate", "unmapped_sku"] and detail["duplicate_of"] == ["o0"]
    assert detail["total"] == {"amount": "1050", "currency": "JPY"}
    assert list(detail["channel_status"]) == ["financial_status", "fulfillment_status"]
    assert detail["fulfillments"][0]["sync_state"] == "synced"
    assert [(h["from_status"], h["to_status"]) for h in detail["history"]] == [
        (None, "PENDING"),
        ("PENDING", "PAID"),
    ]
    assert detail["raw_versions"][0]["payload_json"] == '{"id": 1}'
    assert "history" not in m.order_out(order).model_dump()


def test_requests_carry_the_idempotency_key_and_line_references() -> None:
    body = s.OrderCreateIn.model_validate(
        {
            "customer_email": " Ada@Example.COM ",
            "lines": [{"sku": "A", "quantity": 2, "unit_price": {"amount": "1.500", "currency": "BHD"}}],
            "shipping": {"amount": "0.750", "currency": "BHD"},
            "status": "PAID",
        }
    )
    create = m.create_request(body, "key-1")
    assert (create.currency, create.idempotency_key, create.customer_email) == (
        "BHD",
        "key-1",
        "ada@example.com",
    )
    assert create.lines[0].unit_price == money(1500, "BHD") and not create.lines[0].HasField("discount")
    assert create.shipping == money(750, "BHD") and create.status == pb.ORDER_STATUS_PAID
    assert not create.HasField("shipping_address")

    fulfil = s.FulfillIn.model_validate(
        {
            "carrier": " UPS ",
            "tracking_number": "1Z",
            "lines": [{"line_id": "l1", "quantity": 1}, {"sku": "B", "quantity": 2}],
        }
    )
    request = m.fulfill_request("o1", fulfil, "key-2")
    assert (request.carrier, request.tracking_url, request.idempotency_key) == ("UPS", "", "key-2")
    assert [(x.line_id, x.sku, x.quantity) for x in request.lines] == [("l1", "", 1), ("", "B", 2)]


@pytest.mark.parametrize(
    ("model", "body", "message"),
    [
        (
            s.OrderCreateIn,
            {
                "lines": [{"sku": "A", "quantity": 1, "unit_price": {"amount": "1.00", "currency": "USD"}}],
                "shipping": {"amount": "1.00", "currency": "EUR"},
            },
            "order's currency USD: shipping",
        ),
        (s.OrderCreateIn, {"lines": []}, "at least 1 item"),
        (
            s.FulfillIn,
            {"carrier": "UPS", "tracking_number": "1", "tracking_url": "javascript:alert(1)"},
            "http",
        ),
        (s.FulfillIn, {"carrier": " ", "tracking_number": "1"}, "blank"),
        (
            s.ReturnIn,
            {"lines": [{"line_id": "l", "sku": "A", "quantity": 1, "restock": True}]},
            "exactly one",
        ),
        (s.DuplicateDecisionIn, {"decision": "merge"}, "keep"),
    ],
)
def test_bodies_refuse_what_cannot_be_honoured(model: type, body: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        model.model_validate(body)


def test_export_rows_repeat_the_order_on_each_line_and_keep_lineless_orders() -> None:
    order = pb.Order(
        id="o1",
        external_name='=HYPERLINK("x")',
        status=pb.ORDER_STATUS_PAID,
        flags=[pb.ORDER_FLAG_OVERSOLD],
        created_at=to_timestamp(datetime(2026, 1, 31, 12, tzinfo=UTC)),
        totals=pb.Totals(total=money(30000, "BHD")),
        fulfillments=[pb.Fulfillment(tracking_number="T1"), pb.Fulfillment(tracking_number="T2")],
        lines=[
            pb.OrderLine(id="l1", sku="A", quantity=2, unit_price=money(10000, "BHD"), sku_known=True),
            pb.OrderLine(id="l2", sku="B", quantity=1, unit_price=money(10000, "BHD")),
        ],
    )
    rows = list(order_rows.export_rows([pb.ExportOrdersResponse(orders=[order, pb.Order(id="o2")])]))
    names = [column.name for column in order_rows.COLUMNS]
    as_dicts = [dict(zip(names, row, strict=True)) for row in rows]
    assert [(r["order_id"], r["line_number"], r["sku"]) for r in as_dicts] == [
        ("o1", 1, "A"),
        ("o1", 2, "B"),
        ("o2", None, None),
    ]
    first = as_dicts[0]
    assert (first["order_total"], first["unit_price"], first["currency"]) == ("30.000", "10.000", "BHD")
    assert (first["flags"], first["tracking_numbers"], first["created_at"]) == (
        "oversold",
        "T1; T2",
        "2026-01-31T12:00:00Z",
    )
    assert first["order_name"] == '=HYPERLINK("x")'  # made safe by the writer, not changed here
    assert (first["sku_known"], as_dicts[1]["sku_known"]) == (True, False)
    assert len(set(names)) == len(names)


def test_docs_list_the_export_columns_in_their_order() -> None:
    """docs/api.md "Orders" is what a reader of the export relies on: same columns, same order."""
    docs = (Path(__file__).resolve().parents[4] / "docs" / "api.md").read_text()
    section = docs[docs.index("## Orders") : docs.index("## Pricing")]
    table = section[section.index("| column |") :]
    documented = [
        name
        for line in table.splitlines()
        if line.startswith("| `")
        for name in re.findall(r"`([a-z_0-9]+)`", line.split(" | ")[0])
    ]
    assert documented == [column.name for column in order_rows.COLUMNS]
