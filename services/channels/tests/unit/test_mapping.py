"""channels/mapping.py: the connector messages the use cases send, how replies are read, and the
channels API messages the servicer reads and answers with."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from channels import mapping
from channels.domain import (
    CHANNEL_TYPES,
    AutoMapResult,
    Connection,
    ConnectionStatus,
    Health,
    Listing,
    SyncLogEntry,
    SyncScope,
    WebhookReceipt,
)
from omnistock.channels.v1 import channels_service_pb2 as pb
from omnistock.connector.v1 import connector_service_pb2 as cpb
from omnistock_common.errors import InvalidArgument


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


# ------------------------------------------------------------------- the channels API (servicer)
def test_a_connection_message_carries_settings_and_health_in_utc() -> None:
    created = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    conn = Connection(
        id="c1",
        tenant_id="t1",
        type="shopify",
        name="Shop",
        settings={"shop_domain": "a.myshopify.com"},
        health=Health(ConnectionStatus.DEGRADED, "rate limited", created, None, 2, "429"),
        token_expires_at=None,
        credentials_version=3,
        created_at=created,
        updated_at=created,
    )
    message = mapping.connection_out(conn)
    assert (message.id, message.type, message.status) == ("c1", "shopify", pb.CONNECTION_STATUS_DEGRADED)
    assert dict(message.settings) == {"shop_domain": "a.myshopify.com"}
    assert message.health.last_sync_at.ToDatetime(tzinfo=UTC) == created
    assert not message.health.HasField("last_success_at")
    assert not message.health.HasField("token_expires_at")
    assert (message.health.error_count, message.health.last_error, message.status_reason) == (
        2,
        "429",
        "rate limited",
    )


def test_a_listing_without_a_push_leaves_the_quantity_unset() -> None:
    at = datetime(2026, 1, 2, tzinfo=UTC)
    assert not mapping.listing_out(Listing("c1", "A", {"variant_id": "v"}, at)).HasField(
        "last_pushed_quantity"
    )
    assert mapping.listing_out(Listing("c1", "A", {}, at, last_pushed_quantity=0)).last_pushed_quantity == 0
    page = mapping.listings_page_out([Listing("c1", "A", {}, at)], "next")
    assert ([item.sku for item in page.listings], page.page.next_cursor) == (["A"], "next")


def test_sync_scopes_default_to_all_and_unknown_numbers_are_refused() -> None:
    assert mapping.sync_scope_in(pb.SYNC_SCOPE_UNSPECIFIED) is SyncScope.ALL
    assert mapping.sync_scope_in(pb.SYNC_SCOPE_PRICES) is SyncScope.PRICES
    with pytest.raises(InvalidArgument) as caught:
        mapping.sync_scope_in(999)
    assert [v.field for v in caught.value.violations] == ["scope"]


def test_an_empty_id_is_refused_naming_its_field() -> None:
    assert mapping.required_id("c1") == "c1"
    with pytest.raises(InvalidArgument) as caught:
        mapping.required_id("", "connection_id")
    assert [v.field for v in caught.value.violations] == ["connection_id"]


def test_sync_log_and_channel_types_and_receipts() -> None:
    at = datetime(2026, 1, 2, tzinfo=UTC)
    log = mapping.sync_log_out([SyncLogEntry("e1", at, "push_inventory", ["A"], "ok", "", 12, 1)])
    assert [(e.id, list(e.skus), e.latency_ms, e.calls) for e in log.entries] == [("e1", ["A"], 12, 1)]
    types = mapping.channel_types_out([CHANNEL_TYPES["woocommerce"]]).types
    assert [(t.type, t.auth) for t in types] == [("woocommerce", "api_key")]
    receipt = mapping.webhook_receipt_out(WebhookReceipt(True, "d1"))
    assert (receipt.accepted, receipt.delivery_id) == (True, "d1")
    result = mapping.auto_map_out(AutoMapResult(2, ["B"], ["Z"]))
    assert (result.mapped, list(result.unmapped_skus), list(result.unknown_remote_skus)) == (2, ["B"], ["Z"])
