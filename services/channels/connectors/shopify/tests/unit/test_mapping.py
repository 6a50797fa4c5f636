"""mapping.py: connector.v1 messages in, the protocol's plain values, messages out."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from omnistock.common.v1 import common_pb2
from omnistock.connector.v1 import connector_service_pb2 as pb
from shopify_connector import mapping as m
from shopify_connector import protocol as p


@pytest.mark.parametrize(
    ("members", "table", "prefix"),
    [
        (p.Outcome, m.OUTCOMES, "ITEM_OUTCOME_"),
        (p.WebhookKind, m.WEBHOOK_KINDS, "WEBHOOK_KIND_"),
        (p.UnifiedStatus, m.ORDER_STATUSES, "ORDER_STATUS_"),
    ],
)
def test_every_enum_member_has_the_contract_value_of_its_name(
    members: type, table: dict, prefix: str
) -> None:
    descriptor = pb.DESCRIPTOR.enum_types_by_name
    values = {v.name: v.number for enum in descriptor.values() for v in enum.values}
    assert {member: values[prefix + member.name] for member in members} == table


def test_requests_become_plain_inputs() -> None:
    items = [pb.InventoryItem(sku="A", quantity=-2, remote=pb.RemoteIds(ids={"inventory_item_id": "1"}))]
    assert m.inventory_inputs(items) == [p.InventoryInput("A", -2, {"inventory_item_id": "1"})]
    prices = [
        pb.PriceItem(sku="A", price=common_pb2.Money(amount_minor=1999, currency="USD")),
        pb.PriceItem(
            sku="B",
            price=common_pb2.Money(amount_minor=500, currency="USD"),
            compare_at_price=common_pb2.Money(amount_minor=700, currency="USD"),
            remote=pb.RemoteIds(ids={"variant_id": "9"}),
        ),
        # A compare-at price without a currency is none (the previous code ignored it too).
        pb.PriceItem(sku="C", compare_at_price=common_pb2.Money(amount_minor=1)),
    ]
    assert m.price_inputs(prices) == [
        p.PriceInput("A", p.Amount(1999, "USD"), None, {}),
        p.PriceInput("B", p.Amount(500, "USD"), p.Amount(700, "USD"), {"variant_id": "9"}),
        p.PriceInput("C", p.Amount(0, ""), None, {}),
    ]
    lines = [pb.FulfillmentLine(external_line_id="11", quantity=3), pb.FulfillmentLine(sku="B", quantity=1)]
    assert m.fulfillment_lines(lines) == [
        p.FulfillmentLineInput("11", "", 3),
        p.FulfillmentLineInput("", "B", 1),
    ]


def test_an_order_becomes_a_channel_order_with_unset_fields_left_unset() -> None:
    order = p.OrderData(
        external_id="1001",
        external_name="#1001",
        status=p.UnifiedStatus.PARTIALLY_SHIPPED,
        raw_status="paid/partial",
        customer_email="a@example.com",
        total=p.Amount(3990, "USD"),
        lines=(
            p.OrderLineData("5", "SKU-1", 2, "Mug", p.Amount(1995, "USD")),
            p.OrderLineData("6", "", 1, "", None),
        ),
        created_at=datetime(2025, 7, 1, 10, 0, 0, 123456, tzinfo=UTC),
        updated_at=None,
    )
    message = m.order_to_proto(order)
    assert (message.external_id, message.status) == ("1001", pb.ORDER_STATUS_PARTIALLY_SHIPPED)
    assert message.total == common_pb2.Money(amount_minor=3990, currency="USD")
    assert [(line.external_line_id, line.sku, line.quantity) for line in message.lines] == [
        ("5", "SKU-1", 2),
        ("6", "", 1),
    ]
    assert message.lines[0].unit_price.amount_minor == 1995
    assert not message.lines[1].HasField("unit_price")
    assert message.created_at.ToDatetime(tzinfo=UTC) == order.created_at
    assert not message.HasField("updated_at")
    page = m.orders_to_proto([order], "next")
    assert (len(page.orders), page.next_cursor) == (1, "next")


def test_answers_become_messages() -> None:
    results = m.item_results_to_proto(
        [p.ItemResult("A", p.Outcome.APPLIED), p.ItemResult("B", p.Outcome.REJECTED, "x")]
    )
    assert [(r.sku, r.outcome, r.message) for r in results] == [
        ("A", pb.ITEM_OUTCOME_APPLIED, ""),
        ("B", pb.ITEM_OUTCOME_REJECTED, "x"),
    ]
    quantities = m.quantities_to_proto([p.RemoteQuantity("A", 4, True), p.RemoteQuantity("B")])
    assert [(q.sku, q.quantity, q.found) for q in quantities] == [("A", 4, True), ("B", 0, False)]
    products = m.products_to_proto([p.RemoteProductData("A", "Mug", {"variant_id": "v"}, 3)], "c2")
    assert [(r.sku, r.title, dict(r.remote.ids), r.quantity) for r in products.products] == [
        ("A", "Mug", {"variant_id": "v"}, 3)
    ]
    assert products.next_cursor == "c2"
    webhook = m.webhook_to_proto(p.ParsedWebhook("d1", "app/uninstalled", p.WebhookKind.APP_UNINSTALLED))
    assert (webhook.delivery_id, webhook.topic, webhook.kind, len(webhook.orders)) == (
        "d1",
        "app/uninstalled",
        pb.WEBHOOK_KIND_APP_UNINSTALLED,
        0,
    )
