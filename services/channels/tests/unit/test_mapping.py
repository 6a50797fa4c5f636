"""channels/mapping.py: the connector messages the use cases send, and how replies are read."""

from __future__ import annotations

from datetime import UTC, datetime

from channels import mapping
from omnistock.connector.v1 import connector_service_pb2 as cpb


def test_webhook_kinds_have_stored_names() -> None:
    assert mapping.webhook_kind(cpb.WEBHOOK_KIND_PING) == "ping"
    assert mapping.webhook_kind(cpb.WEBHOOK_KIND_ORDER) == "order"
    assert mapping.webhook_kind(cpb.WEBHOOK_KIND_APP_UNINSTALLED) == "app_uninstalled"
    assert mapping.webhook_kind(cpb.WEBHOOK_KIND_PRODUCT) == "product"
    assert mapping.webhook_kind(cpb.WEBHOOK_KIND_INVENTORY) == "inventory"
    assert mapping.webhook_kind(9999) == "other"


def test_item_outcomes() -> None:
    assert mapping.item_outcome(cpb.ITEM_OUTCOME_APPLIED) == "applied"
    assert mapping.item_outcome(cpb.ITEM_OUTCOME_RETRY) == "retry"
    assert mapping.item_outcome(cpb.ITEM_OUTCOME_REJECTED) == "rejected"
    assert mapping.item_outcome(9999) == "unknown"


def test_push_and_read_requests_carry_remote_ids() -> None:
    conn = cpb.ConnectionContext(connection_id="c1")
    push = mapping.push_inventory_request(conn, [("MUG-1", 4, {"variant_id": "v9"})])
    assert push.connection.connection_id == "c1"
    assert [(i.sku, i.quantity, dict(i.remote.ids)) for i in push.items] == [
        ("MUG-1", 4, {"variant_id": "v9"})
    ]
    read = mapping.read_inventory_request(conn, [("MUG-1", {"variant_id": "v9"})])
    assert [(i.sku, i.quantity, dict(i.remote.ids)) for i in read.items] == [
        ("MUG-1", 0, {"variant_id": "v9"})
    ]


def test_orders_round_trip_their_times_and_status() -> None:
    since = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    request = mapping.fetch_orders_request(cpb.ConnectionContext(), since, cursor="n2", limit=50)
    assert request.updated_since.ToDatetime(tzinfo=UTC) == since
    assert (request.cursor, request.limit) == ("n2", 50)
    order = cpb.ChannelOrder(status=cpb.ORDER_STATUS_REFUNDED)
    assert mapping.order_cancelled(order)
    assert mapping.order_cancelled(cpb.ChannelOrder(status=cpb.ORDER_STATUS_CANCELLED))
    assert not mapping.order_cancelled(cpb.ChannelOrder())
    assert mapping.order_updated_at(order) is None
    order.updated_at.FromDatetime(since)
    assert mapping.order_updated_at(order) == since


def test_setup_requests() -> None:
    conn = cpb.ConnectionContext(connection_id="c1")
    assert mapping.validate_credentials_request(conn).connection == conn
    url = mapping.authorization_url_request(conn, state="s", redirect_uri="https://a.example/cb")
    assert (url.state, url.redirect_uri) == ("s", "https://a.example/cb")
    code = mapping.exchange_code_request(conn, {"code": "x"}, "https://a.example/cb")
    assert dict(code.callback_params) == {"code": "x"} and code.redirect_uri == "https://a.example/cb"
    hook = mapping.parse_webhook_request(conn, {"x-sig": "1"}, b"{}")
    assert dict(hook.headers) == {"x-sig": "1"} and hook.raw_body == b"{}"
    assert mapping.refresh_credentials_request(conn).connection == conn
    page = mapping.list_remote_products_request(conn, cursor="p", limit=250)
    assert (page.cursor, page.limit) == ("p", 250)
