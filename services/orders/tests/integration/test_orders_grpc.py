"""The orders gRPC API through the real server (127.0.0.1:0) and a real inventory server, on
SQLite and PostgreSQL: manual orders, fulfilment (partial then the rest), cancel, returns,
idempotency keys, duplicates, tenancy and roles."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from omnistock.common.v1 import common_pb2
from omnistock.inventory.v1 import inventory_service_pb2 as inv
from omnistock.orders.v1 import orders_service_pb2 as pb
from orders import models, service
from orders.domain import ChannelOrderVersion, IncomingLine, Policy, Totals
from orders.repository import UnitOfWork

TENANT = "tenant-a"


def usd(amount: int) -> common_pb2.Money:
    return common_pb2.Money(amount_minor=amount, currency="USD")


def manual(
    *lines: tuple[str, int], key: str = "", email: str = "max@example.com", price: int = 1000
) -> pb.CreateOrderRequest:
    return pb.CreateOrderRequest(
        customer_email=email,
        customer_name="Max",
        currency="USD",
        lines=[pb.NewOrderLine(sku=sku, quantity=q, unit_price=usd(price)) for sku, q in lines],
        shipping=usd(500),
        status=pb.ORDER_STATUS_PAID,
        idempotency_key=key,
    )


def error_of(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value


def violations(err: grpc.RpcError) -> set[str]:
    status = rpc_status.from_call(err)  # type: ignore[arg-type]
    assert status is not None
    fields: set[str] = set()
    for detail in status.details:
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            fields |= {v.field for v in bad.field_violations}
    return fields


def events(uow: UnitOfWork, event_type: str) -> list[dict[str, Any]]:
    with uow.transaction() as repo:
        return [payload for _id, kind, payload in repo.outbox_rows(TENANT) if kind == event_type]


def test_the_migration_matches_the_models(orders_url: str, engine: Any) -> None:
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), models.metadata) == []


def test_a_manual_order_reserves_like_a_channel_order(
    client: Any, set_stock: Any, figures: Any, uow: UnitOfWork
) -> None:
    set_stock("A", 10)
    order = client.CreateOrder(manual(("A", 3), ("B", 1))).order
    assert order.source == "MANUAL" and order.connection_id == "" and order.external_name.startswith("M-")
    assert order.status == pb.ORDER_STATUS_PAID
    assert order.totals.total.amount_minor == 4 * 1000 + 500 and order.totals.total.currency == "USD"
    assert [(x.sku, x.quantity_reserved, x.sku_known) for x in order.lines] == [
        ("A", 3, True),
        ("B", 0, False),
    ]
    assert set(order.flags) == {pb.ORDER_FLAG_UNMAPPED_SKU}
    assert figures("A") == (10, 3, 7)
    fetched = client.GetOrder(pb.GetOrderRequest(order_id=order.id)).order
    assert fetched.reservation_id == order.reservation_id and not fetched.stock_pending
    assert [v.via for v in fetched.raw_versions] == ["manual"]
    assert events(uow, "orders.order_imported")[0]["source"] == "MANUAL"


def test_bad_manual_orders_are_refused_by_field_and_store_nothing(client: Any) -> None:
    request = manual(("", 0), ("A", 1))
    request.lines[1].unit_price.currency = "EUR"
    request.customer_email = "not an email"
    err = error_of(lambda: client.CreateOrder(request))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert {"lines[0].sku", "lines[0].quantity", "lines[1].unit_price", "customer_email"} <= violations(err)
    assert list(client.ListOrders(pb.ListOrdersRequest()).orders) == []


def test_create_idempotency_repeat_returns_the_first_answer_and_another_body_is_refused(
    client: Any, set_stock: Any, figures: Any
) -> None:
    set_stock("A", 10)
    first = client.CreateOrder(manual(("A", 2), key="k-create")).order
    again = client.CreateOrder(manual(("A", 2), key="k-create")).order
    assert again == first
    assert figures("A") == (10, 2, 8)  # one hold
    err = error_of(lambda: client.CreateOrder(manual(("A", 5), key="k-create")))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert len(client.ListOrders(pb.ListOrdersRequest()).orders) == 1


def test_fulfil_partially_then_the_rest(client: Any, set_stock: Any, figures: Any, uow: UnitOfWork) -> None:
    set_stock("A", 10)
    set_stock("B", 10)
    order = client.CreateOrder(manual(("A", 3), ("B", 1))).order
    line_a = order.lines[0]

    first = client.FulfillOrder(
        pb.FulfillOrderRequest(
            order_id=order.id,
            carrier="UPS",
            tracking_number="1Z1",
            lines=[pb.FulfillmentLine(line_id=line_a.id, quantity=1)],
            idempotency_key="ship-1",
        )
    )
    assert first.order.status == pb.ORDER_STATUS_PARTIALLY_SHIPPED
    assert [(x.quantity_shipped, x.quantity_reserved) for x in first.order.lines] == [(1, 2), (0, 1)]
    assert first.fulfillment.sync_state == pb.FULFILLMENT_SYNC_STATE_NOT_APPLICABLE  # manual: nobody to tell
    assert figures("A") == (9, 2, 7)

    over = error_of(
        lambda: client.FulfillOrder(
            pb.FulfillOrderRequest(order_id=order.id, lines=[pb.FulfillmentLine(sku="A", quantity=3)])
        )
    )
    assert over.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert figures("A") == (9, 2, 7)  # a refused request changes nothing

    rest = client.FulfillOrder(
        pb.FulfillOrderRequest(order_id=order.id, carrier="UPS", tracking_number="1Z2")
    )
    assert rest.order.status == pb.ORDER_STATUS_SHIPPED
    assert [(x.quantity_shipped, x.quantity_reserved) for x in rest.order.lines] == [(3, 0), (1, 0)]
    assert [(x.sku, x.quantity) for x in rest.fulfillment.lines] == [("A", 2), ("B", 1)]
    assert figures("A") == (7, 0, 7) and figures("B") == (9, 0, 9)
    assert len(rest.order.fulfillments) == 2
    assert [e["status"] for e in events(uow, "orders.order_shipped")] == ["PARTIALLY_SHIPPED", "SHIPPED"]
    assert events(uow, "orders.fulfillment_requested") == []  # manual orders tell no channel

    # The same key again: the first answer, no second commit.
    repeat = client.FulfillOrder(
        pb.FulfillOrderRequest(
            order_id=order.id,
            carrier="UPS",
            tracking_number="1Z1",
            lines=[pb.FulfillmentLine(line_id=line_a.id, quantity=1)],
            idempotency_key="ship-1",
        )
    )
    assert repeat.fulfillment == first.fulfillment and repeat.order == first.order
    assert figures("A") == (7, 0, 7)
    different = error_of(
        lambda: client.FulfillOrder(
            pb.FulfillOrderRequest(order_id=order.id, carrier="DHL", idempotency_key="ship-1")
        )
    )
    assert different.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_an_oversold_line_ships_once_stock_is_back(client: Any, set_stock: Any, figures: Any) -> None:
    set_stock("A", 1)
    order = client.CreateOrder(manual(("A", 3))).order
    assert order.lines[0].quantity_reserved == 1 and pb.ORDER_FLAG_OVERSOLD in order.flags
    refused = error_of(lambda: client.FulfillOrder(pb.FulfillOrderRequest(order_id=order.id)))
    assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert figures("A") == (1, 1, 0)  # the refused top-up took nothing and released nothing
    set_stock("A", 5)  # 4 more arrived
    shipped = client.FulfillOrder(pb.FulfillOrderRequest(order_id=order.id)).order
    assert shipped.status == pb.ORDER_STATUS_SHIPPED
    assert figures("A") == (2, 0, 2)


def test_cancel_releases_the_hold_and_asks_the_channel(
    client: Any, set_stock: Any, figures: Any, uow: UnitOfWork, stock: Any
) -> None:
    set_stock("A", 10)
    version = ChannelOrderVersion(
        connection_id="conn-woo",
        source="WOOCOMMERCE",
        external_id="77",
        via="poll",
        received_at=datetime.now(UTC),
        status=None,
        lines=(IncomingLine("A", 4, external_line_id="l1"),),
        currency="EUR",
        totals=Totals(total=4000),
        updated_at=datetime(2026, 12, 1, tzinfo=UTC),
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
        raw_json="{}",
    )
    order = service.apply_channel_order(uow, stock, TENANT, version, Policy())
    assert order is not None and order.status.value == "PENDING" and figures("A") == (10, 4, 6)

    cancelled = client.CancelOrder(
        pb.CancelOrderRequest(order_id=order.id, reason="customer asked", idempotency_key="c1")
    ).order
    assert cancelled.status == pb.ORDER_STATUS_CANCELLED
    assert cancelled.cancel_sync_state == pb.FULFILLMENT_SYNC_STATE_PENDING
    assert figures("A") == (10, 0, 10)
    (asked,) = events(uow, "orders.cancel_requested")
    assert asked == {
        "tenant_id": TENANT,
        "order_id": order.id,
        "connection_id": "conn-woo",
        "external_order_id": "77",
        "reason": "customer asked",
    }
    assert len(events(uow, "orders.order_cancelled")) == 1
    assert (
        client.CancelOrder(
            pb.CancelOrderRequest(order_id=order.id, reason="customer asked", idempotency_key="c1")
        ).order
        == cancelled
    )
    again = error_of(lambda: client.CancelOrder(pb.CancelOrderRequest(order_id=order.id)))
    assert again.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_a_shipped_order_cannot_be_cancelled(client: Any, set_stock: Any) -> None:
    set_stock("A", 10)
    order = client.CreateOrder(manual(("A", 2))).order
    client.FulfillOrder(
        pb.FulfillOrderRequest(order_id=order.id, lines=[pb.FulfillmentLine(sku="A", quantity=1)])
    )
    err = error_of(lambda: client.CancelOrder(pb.CancelOrderRequest(order_id=order.id)))
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_a_return_restocks_the_restockable_units_only(
    client: Any, set_stock: Any, figures: Any, inventory: Any
) -> None:
    set_stock("A", 10)
    set_stock("B", 10)
    order = client.CreateOrder(manual(("A", 3), ("B", 2))).order
    client.FulfillOrder(pb.FulfillOrderRequest(order_id=order.id))
    assert figures("A") == (7, 0, 7) and figures("B") == (8, 0, 8)
    request = pb.ReturnOrderItemsRequest(
        order_id=order.id,
        lines=[
            pb.ReturnLine(sku="A", quantity=2, restock=True),
            pb.ReturnLine(sku="B", quantity=1, restock=False),
        ],
        reason="wrong size",
        idempotency_key="ret-1",
    )
    returned = client.ReturnOrderItems(request).order
    assert [(x.sku, x.quantity_returned) for x in returned.lines] == [("A", 2), ("B", 1)]
    assert figures("A") == (9, 0, 9) and figures("B") == (8, 0, 8)
    movement = inventory.ListMovements(inv.ListMovementsRequest(sku="A")).movements[0]
    assert movement.reason == inv.ADJUSTMENT_REASON_RETURNED and movement.reference == order.id
    assert client.ReturnOrderItems(request).order == returned  # the key: no second restock
    assert figures("A") == (9, 0, 9)
    too_many = pb.ReturnOrderItemsRequest(
        order_id=order.id, lines=[pb.ReturnLine(sku="A", quantity=2, restock=True)]
    )
    assert error_of(lambda: client.ReturnOrderItems(too_many)).code() == grpc.StatusCode.FAILED_PRECONDITION


def test_possible_duplicates_are_flagged_linked_and_resolved(
    client: Any, set_stock: Any, figures: Any
) -> None:
    set_stock("A", 10)
    first = client.CreateOrder(manual(("A", 1), email="Dup@Example.com")).order
    second = client.CreateOrder(manual(("A", 1), email="dup@example.COM")).order
    other_total = client.CreateOrder(manual(("A", 2), email="dup@example.com")).order
    assert list(second.duplicate_of) == [first.id] and pb.ORDER_FLAG_POSSIBLE_DUPLICATE in second.flags
    shown = client.GetOrder(pb.GetOrderRequest(order_id=first.id)).order
    assert list(shown.duplicate_of) == [second.id] and pb.ORDER_FLAG_POSSIBLE_DUPLICATE in shown.flags
    assert not other_total.flags or pb.ORDER_FLAG_POSSIBLE_DUPLICATE not in other_total.flags
    flagged = client.ListOrders(
        pb.ListOrdersRequest(filter=pb.OrderFilter(flags=[pb.ORDER_FLAG_POSSIBLE_DUPLICATE]))
    )
    assert {o.id for o in flagged.orders} == {first.id, second.id}

    resolved = client.ResolveDuplicate(
        pb.ResolveDuplicateRequest(order_id=second.id, decision="cancel")
    ).order
    assert resolved.status == pb.ORDER_STATUS_CANCELLED and not resolved.duplicate_of
    assert pb.ORDER_FLAG_POSSIBLE_DUPLICATE not in resolved.flags
    kept = client.GetOrder(pb.GetOrderRequest(order_id=first.id)).order
    assert pb.ORDER_FLAG_POSSIBLE_DUPLICATE not in kept.flags and not kept.duplicate_of
    assert figures("A") == (10, 3, 7)  # the cancelled duplicate's unit went back
    bad = error_of(
        lambda: client.ResolveDuplicate(pb.ResolveDuplicateRequest(order_id=first.id, decision="merge"))
    )
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_tenants_and_roles(client: Any, client_for: Callable[..., Any], set_stock: Any) -> None:
    set_stock("A", 10)
    order = client.CreateOrder(manual(("A", 1))).order
    other = client_for("tenant-b")
    assert (
        error_of(lambda: other.GetOrder(pb.GetOrderRequest(order_id=order.id))).code()
        == grpc.StatusCode.NOT_FOUND
    )
    assert list(other.ListOrders(pb.ListOrdersRequest()).orders) == []
    viewer = client_for(role="viewer")
    assert viewer.GetOrder(pb.GetOrderRequest(order_id=order.id)).order.id == order.id
    denied = error_of(lambda: viewer.CancelOrder(pb.CancelOrderRequest(order_id=order.id)))
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
