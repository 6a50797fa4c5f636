"""WooCommerce orders in full: every status row (as the connector's proto status too) and every
ChannelOrder field from a wc/v3 order resource (https://woocommerce.github.io/woocommerce-rest-api-docs/#order-properties)."""

from __future__ import annotations

import json

import pytest

from omnistock.common.v1 import common_pb2
from omnistock.connector.v1 import connector_service_pb2 as pb
from woocommerce_connector import mapping as m
from woocommerce_connector import protocol as p

# Written out, not read from the table, so a changed row fails.
STATUS_ROWS = {
    "pending": pb.ORDER_STATUS_PENDING,
    "checkout-draft": pb.ORDER_STATUS_PENDING,
    "processing": pb.ORDER_STATUS_PAID,
    "on-hold": pb.ORDER_STATUS_PENDING,
    "completed": pb.ORDER_STATUS_SHIPPED,
    "cancelled": pb.ORDER_STATUS_CANCELLED,
    "refunded": pb.ORDER_STATUS_REFUNDED,
    "failed": pb.ORDER_STATUS_CANCELLED,
    "trash": pb.ORDER_STATUS_CANCELLED,
}


def test_the_table_has_exactly_the_documented_rows() -> None:
    assert set(p.ORDER_STATUS_MAP) == set(STATUS_ROWS)


@pytest.mark.parametrize(("status", "expected"), sorted(STATUS_ROWS.items()))
def test_every_status_row_reaches_the_proto_status(status: str, expected: int) -> None:
    order = m.order_to_proto(p.parse_order({"id": 1, "status": status}))
    assert (order.status, order.raw_status, dict(order.channel_status)) == (
        expected,
        status,
        {"status": status},
    )
    assert p.map_order_status("wc-" + status.upper()).value == pb.OrderStatus.Name(expected).removeprefix(
        "ORDER_STATUS_"
    )


def test_a_plugin_status_is_unspecified_with_the_raw_status_kept() -> None:
    order = m.order_to_proto(p.parse_order({"id": 1, "status": "wc-shipped-by-plugin"}))
    assert (order.status, order.raw_status) == (pb.ORDER_STATUS_UNSPECIFIED, "wc-shipped-by-plugin")


ORDER = {
    "id": 727,
    "number": "727",
    "status": "processing",
    "currency": "EUR",
    "total": "29.00",
    "discount_total": "4.00",
    "shipping_total": "5.00",
    "total_tax": "4.00",
    "date_created_gmt": "2024-03-01T10:00:00",
    "date_modified_gmt": "2024-03-02T10:00:05",
    "billing": {"first_name": "Ann", "last_name": "Buyer", "email": "ann@example.com"},
    "shipping": {
        "first_name": "Ann",
        "last_name": "Buyer",
        "company": "ACME",
        "address_1": "1 Rue Neuve",
        "address_2": "",
        "city": "Lyon",
        "state": "ARA",
        "postcode": "69001",
        "country": "FR",
        "phone": "+33 1",
    },
    "line_items": [
        {
            "id": 315,
            "sku": "TEE",
            "quantity": 2,
            "price": 10.0,
            "subtotal": "20.00",
            "total": "16.00",
            "total_tax": "3.20",
            "name": "Tee",
        },
        {
            "id": 316,
            "sku": "CAP",
            "quantity": 1,
            "price": 4.0,
            "subtotal": "4.00",
            "total": "4.00",
            "total_tax": "0.80",
            "name": "Cap",
        },
    ],
}


def eur(minor: int) -> common_pb2.Money:
    return common_pb2.Money(amount_minor=minor, currency="EUR")


def test_every_channel_order_field() -> None:
    order = m.order_to_proto(p.parse_order(ORDER))
    assert (order.external_id, order.external_name, order.customer_email) == (
        "727",
        "#727",
        "ann@example.com",
    )
    assert order.customer_name == "Ann Buyer"
    totals = (order.total, order.subtotal, order.discount_total, order.shipping_total, order.tax_total)
    assert totals == (eur(2900), eur(2000), eur(400), eur(500), eur(400))
    tee, cap = order.lines
    assert (tee.unit_price, tee.discount, tee.tax) == (eur(1000), eur(400), eur(320))
    assert (cap.discount, cap.tax) == (eur(0), eur(80))
    address = order.shipping_address
    assert (address.name, address.company, address.line1, address.line2) == (
        "Ann Buyer",
        "ACME",
        "1 Rue Neuve",
        "",
    )
    assert (address.city, address.region, address.postal_code, address.country_code, address.phone) == (
        "Lyon",
        "ARA",
        "69001",
        "FR",
        "+33 1",
    )
    assert json.loads(order.raw_json) == ORDER
    assert order.updated_at.ToJsonString() == "2024-03-02T10:00:05Z"


def test_a_guest_without_addresses_still_imports() -> None:
    order = m.order_to_proto(
        p.parse_order({"id": 9, "status": "pending", "currency": "EUR", "total": "1.00"})
    )
    assert not order.HasField("shipping_address") and order.customer_name == ""
    assert order.subtotal == eur(0) and not order.lines
    named = p.parse_order({"id": 9, "billing": {}, "shipping": {"first_name": "Bo"}})
    assert named.customer_name == "Bo"
