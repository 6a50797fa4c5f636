"""connector.v1 ↔ protocol values: every enum member maps, requests read as the protocol expects."""

from __future__ import annotations

from omnistock.connector.v1 import connector_service_pb2 as pb
from tiktok_connector import mapping as m
from tiktok_connector import protocol as p


def test_every_unified_status_and_webhook_kind_has_a_proto_member() -> None:
    assert set(m.ORDER_STATUSES) == set(p.UnifiedStatus)
    assert set(m.WEBHOOK_KINDS) == set(p.WebhookKind)
    assert m.ORDER_STATUSES[p.UnifiedStatus.DELIVERED] == pb.ORDER_STATUS_DELIVERED


def test_fulfillment_units_sum_per_line_and_none_means_everything() -> None:
    lines = [
        pb.FulfillmentLine(external_line_id="s1", quantity=1),
        pb.FulfillmentLine(sku="B", quantity=2),
        pb.FulfillmentLine(external_line_id="s1", quantity=2),
    ]
    assert m.fulfillment_units(lines) == {"s1": 3, "B": 2}
    assert m.fulfillment_units([]) is None


def test_price_inputs_keep_ids_and_money() -> None:
    item = pb.PriceItem(
        sku="A", price={"amount_minor": 1999, "currency": "USD"}, remote=pb.RemoteIds(ids={"sku_id": "1"})
    )
    assert m.price_inputs([item]) == [p.PriceInput("A", p.Amount(1999, "USD"), ids={"sku_id": "1"})]
