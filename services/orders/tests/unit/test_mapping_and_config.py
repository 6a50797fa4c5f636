"""The edge conversions (proto and event payloads <-> domain) and the settings, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from omnistock.common.v1 import common_pb2
from omnistock.connector.v1 import connector_service_pb2 as connector_pb
from omnistock.orders.v1 import orders_service_pb2 as pb
from omnistock_common.config import ConfigError
from omnistock_common.errors import InvalidArgument
from omnistock_common.timestamps import to_timestamp
from orders import mapping
from orders.config import load_settings
from orders.domain import OrderFlag, OrderStatus


def usd(amount: int) -> common_pb2.Money:
    return common_pb2.Money(amount_minor=amount, currency="USD")


def test_a_channel_order_event_becomes_a_version() -> None:
    order = connector_pb.ChannelOrder(
        external_id="450789469",
        external_name="#1001",
        status=connector_pb.ORDER_STATUS_PAID,
        customer_email="bob@example.com",
        total=usd(2599),
        subtotal=usd(2000),
        shipping_total=usd(599),
        lines=[
            connector_pb.OrderLine(
                external_line_id="466157049", sku="IPOD-8GB", quantity=1, unit_price=usd(2000)
            )
        ],
        created_at=to_timestamp(datetime(2026, 12, 1, tzinfo=UTC)),
        updated_at=to_timestamp(datetime(2026, 12, 1, 0, 1, tzinfo=UTC)),
        channel_status={"financial_status": "paid", "fulfillment_status": ""},
    )
    received = datetime(2026, 12, 1, 0, 2, tzinfo=UTC)
    payload = mapping.channel_order_payload(order, "conn-1", "shopify", "webhook", received)
    assert payload["order"]["external_id"] == "450789469"  # proto field names, as the contract says
    version = mapping.channel_order_in(payload)
    assert (version.source, version.connection_id, version.via, version.status) == (
        "SHOPIFY",
        "conn-1",
        "webhook",
        OrderStatus.PAID,
    )
    assert version.received_at == received and version.currency == "USD"
    assert version.totals.total == 2599 and version.totals.shipping == 599
    assert version.lines[0].sku == "IPOD-8GB" and version.lines[0].unit_price == 2000
    assert ("financial_status", "paid") in version.channel_status
    assert '"external_id": "450789469"' in version.raw_json  # no raw_json given: the message itself


@pytest.mark.parametrize(
    "payload",
    [
        {"order": {"external_id": "1"}},  # no connection
        {"connection_id": "c", "order": {}},  # no external id
        {"connection_id": "c", "order": {"external_id": "1", "lines": "nope"}},
        {"connection_id": "c", "received_at": "yesterday", "order": {"external_id": "1"}},
    ],
)
def test_malformed_events_are_refused(payload: dict[str, object]) -> None:
    with pytest.raises(InvalidArgument):
        mapping.channel_order_in(payload)


def test_a_create_request_lists_the_currency_of_every_money() -> None:
    request = pb.CreateOrderRequest(
        currency="USD",
        lines=[
            pb.NewOrderLine(sku="A", quantity=1, unit_price=common_pb2.Money(amount_minor=5, currency="EUR"))
        ],
        shipping=usd(100),
        status=pb.ORDER_STATUS_PAID,
    )
    command = mapping.new_order_in(request)
    assert command.money_currencies == (("lines[0].unit_price", "EUR"), ("shipping", "USD"))
    assert command.status is OrderStatus.PAID and command.shipping == 100


def test_enums_and_filters() -> None:
    flt = mapping.filter_in(
        pb.OrderFilter(
            statuses=[pb.ORDER_STATUS_SHIPPED, 99], flags=[pb.ORDER_FLAG_OVERSOLD], channel=" shopify "
        )
    )
    assert flt.statuses == (OrderStatus.SHIPPED,) and flt.flags == (OrderFlag.OVERSOLD,)
    assert flt.channel == "shopify" and flt.source == "SHOPIFY"
    assert mapping.flag_out(OrderFlag.UNMAPPED_SKU) == pb.ORDER_FLAG_UNMAPPED_SKU


def test_settings_defaults_and_bad_values() -> None:
    settings = load_settings({})
    assert settings.server.grpc_port == 50053 and settings.inventory_addr == "127.0.0.1:50052"
    assert settings.policy.duplicate_window.total_seconds() == 600
    assert (
        load_settings({"ORDERS_DUPLICATE_WINDOW_SECONDS": "60"}).policy.duplicate_window.total_seconds() == 60
    )
    with pytest.raises(ConfigError, match="ORDERS_DUPLICATE_WINDOW_SECONDS"):
        load_settings({"ORDERS_DUPLICATE_WINDOW_SECONDS": "soon"})
