"""Channel orders end to end below the broker: versions applied through the service layer (the
worker's path) against a real orders database and a real inventory gRPC server, on SQLite and
PostgreSQL. Exactly once, in order, with the stock rules of issue 13."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from omnistock.inventory.v1 import inventory_service_pb2 as inv
from omnistock.orders.v1 import orders_service_pb2 as pb
from orders import models, service
from orders.domain import (
    ActionSynced,
    ChannelOrderVersion,
    IncomingLine,
    Order,
    OrderFlag,
    OrderStatus,
    Policy,
    Totals,
)
from orders.inventory_client import InventoryStock
from orders.repository import UnitOfWork

TENANT = "tenant-a"
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def version(
    external_id: str = "1001",
    *,
    status: OrderStatus | None = OrderStatus.PAID,
    updated: datetime = T0,
    created: datetime = T0,
    via: str = "webhook",
    lines: tuple[tuple[str, int], ...] = (("A", 2), ("B", 1)),
    email: str = "ann@example.com",
    total: int = 5000,
    connection: str = "conn-shop",
    source: str = "SHOPIFY",
    name: str = "",
    shipped: dict[str, int] | None = None,
) -> ChannelOrderVersion:
    raw = {"id": external_id, "updated_at": updated.isoformat(), "status": str(status), "name": name}
    return ChannelOrderVersion(
        connection_id=connection,
        source=source,
        external_id=external_id,
        via=via,
        received_at=updated + timedelta(seconds=1),
        status=status,
        lines=tuple(
            IncomingLine(
                sku=sku,
                quantity=q,
                external_line_id=f"{external_id}-{i}",
                unit_price=1000,
                quantity_fulfilled=(shipped or {}).get(sku, 0),
            )
            for i, (sku, q) in enumerate(lines)
        ),
        currency="USD",
        totals=Totals(total=total, subtotal=total),
        updated_at=updated,
        created_at=created,
        external_name=name or f"#{external_id}",
        customer_email=email,
        channel_status=(("financial_status", str(status).lower()),),
        raw_json=json.dumps(raw),
    )


def events(uow: UnitOfWork, event_type: str) -> list[dict[str, Any]]:
    with uow.transaction() as repo:
        return [payload for _id, kind, payload in repo.outbox_rows(TENANT) if kind == event_type]


def apply(uow: UnitOfWork, stock: Any, v: ChannelOrderVersion, policy: Policy | None = None) -> Order:
    order = service.apply_channel_order(uow, stock, TENANT, v, policy or Policy())
    assert order is not None
    return order


def test_fifty_concurrent_applications_by_webhook_and_poll_make_one_order_and_one_hold(
    uow: UnitOfWork,
    stock: InventoryStock,
    set_stock: Callable[..., None],
    figures: Callable[..., Any],
    engine: Any,
) -> None:
    set_stock("A", 10)
    set_stock("B", 10)
    by_path = {"webhook": version(via="webhook"), "poll": version(via="poll")}
    with ThreadPoolExecutor(16) as pool:
        results = list(
            pool.map(lambda i: apply(uow, stock, by_path["webhook" if i % 2 else "poll"]), range(50))
        )

    assert len({order.id for order in results}) == 1
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(models.orders)).scalar_one() == 1
        vias = conn.execute(select(models.raw_versions.c.via)).scalars().all()
    assert sorted(vias) == ["poll", "webhook"]  # each path's payload kept once
    assert figures("A") == (10, 2, 8) and figures("B") == (10, 1, 9)  # one hold, not fifty
    imported = events(uow, "orders.order_imported")
    assert len(imported) == 1
    assert imported[0]["tenant_id"] == TENANT and imported[0]["external_id"] == "1001"
    assert imported[0]["lines"] == [{"sku": "A", "quantity": 2}, {"sku": "B", "quantity": 1}]
    with uow.transaction() as repo:
        order = repo.load_order(TENANT, results[0].id)
    assert order is not None and order.reservation_id and order.announced
    assert [line.quantity_reserved for line in order.lines] == [2, 1]
    assert order.stock_state.value == "DONE"


def test_twenty_orders_each_by_both_paths_at_once(
    uow: UnitOfWork, stock: InventoryStock, set_stock: Callable[..., None], figures: Callable[..., Any]
) -> None:
    set_stock("A", 100)
    work = [
        version(str(2000 + i), via=via, lines=(("A", 1),), email=f"c{i}@example.com")
        for i in range(20)
        for via in ("webhook", "poll")
    ]
    with ThreadPoolExecutor(16) as pool:
        orders = list(pool.map(lambda v: apply(uow, stock, v), work))
    assert len({order.id for order in orders}) == 20
    assert figures("A") == (100, 20, 80)
    assert len(events(uow, "orders.order_imported")) == 20


def test_an_older_version_never_overwrites_a_newer_one(
    uow: UnitOfWork, stock: InventoryStock, set_stock: Any
) -> None:
    set_stock("A", 10)
    set_stock("B", 10)
    newest = apply(
        uow, stock, version(updated=T0 + timedelta(minutes=5), name="#1001-renamed", email="new@example.com")
    )
    older = apply(uow, stock, version(status=OrderStatus.PENDING, updated=T0, email="old@example.com"))
    assert older.id == newest.id
    assert (older.external_name, older.customer_email, older.status) == (
        "#1001-renamed",
        "new@example.com",
        OrderStatus.PAID,
    )
    assert older.channel_updated_at == T0 + timedelta(minutes=5)
    # A still newer version applies; its lines edit the order's lines (same external line ids).
    latest = apply(uow, stock, version(updated=T0 + timedelta(minutes=9), lines=(("A", 3), ("B", 1))))
    assert [(line.sku, line.quantity) for line in latest.lines] == [("A", 3), ("B", 1)]
    # The hold follows the edit (released, then taken again for 3).
    assert latest.lines[0].id == newest.lines[0].id and latest.lines[0].quantity_reserved == 3
    with uow.transaction() as repo:
        kept = repo.load_order(TENANT, latest.id, raw=True)
    assert kept is not None and len(kept.raw_versions) == 3  # every payload received is kept


def test_a_channel_edit_of_the_lines_plans_the_hold_again(
    uow: UnitOfWork, stock: InventoryStock, set_stock: Any, figures: Any
) -> None:
    set_stock("A", 10)
    set_stock("B", 10)
    set_stock("C", 1)
    first = apply(uow, stock, version(lines=(("A", 2), ("B", 1))))
    assert figures("A") == (10, 2, 8) and figures("B") == (10, 1, 9)

    # The buyer drops B, takes 5 of A and adds 2 of C (only 1 left): one new hold, short of C.
    edited = apply(
        uow, stock, version(updated=T0 + timedelta(minutes=1), lines=(("A", 5), ("C", 2)), total=7000)
    )
    assert [(line.sku, line.quantity, line.quantity_reserved) for line in edited.lines] == [
        ("A", 5, 5),
        ("C", 2, 1),
    ]
    assert figures("A") == (10, 5, 5) and figures("B") == (10, 0, 10) and figures("C") == (1, 1, 0)
    assert edited.reservation_id != first.reservation_id and "oversold" in edited.flags
    assert not edited.replan_owed and edited.hold_round == 1
    assert len(events(uow, "orders.order_imported")) == 1  # announced once
    assert [line["sku"] for line in events(uow, "orders.order_oversold")[0]["lines"]] == ["C"]

    # The same edit again (a poll of the same version) changes nothing; cancelling releases all.
    again = apply(
        uow, stock, version(updated=T0 + timedelta(minutes=1), lines=(("A", 5), ("C", 2)), total=7000)
    )
    assert again.reservation_id == edited.reservation_id and figures("A") == (10, 5, 5)
    cancelled = apply(
        uow,
        stock,
        version(status=OrderStatus.CANCELLED, updated=T0 + timedelta(minutes=2), lines=(("A", 5), ("C", 2))),
    )
    assert cancelled.held == 0 and figures("A") == (10, 0, 10) and figures("C") == (1, 0, 1)


def test_an_update_that_makes_two_orders_alike_flags_and_links_them(
    uow: UnitOfWork, stock: InventoryStock, set_stock: Any
) -> None:
    set_stock("A", 10)
    shop = apply(uow, stock, version("1", total=5000))
    woo = apply(uow, stock, version("2", total=4000, connection="conn-woo", source="WOOCOMMERCE"))
    assert "possible_duplicate" not in woo.flags
    # The WooCommerce order is edited to the same total: now it matches the Shopify one.
    woo = apply(
        uow,
        stock,
        version(
            "2", total=5000, connection="conn-woo", source="WOOCOMMERCE", updated=T0 + timedelta(minutes=1)
        ),
    )
    with uow.transaction() as repo:
        shop_now = repo.load_order(TENANT, shop.id)
    assert shop_now is not None
    assert "possible_duplicate" in woo.flags and "possible_duplicate" in shop_now.flags
    assert (woo.duplicate_of, shop_now.duplicate_of) == ([shop.id], [woo.id])


def test_units_the_channel_ships_of_a_partly_shipped_order_are_committed_once(
    uow: UnitOfWork, stock: InventoryStock, set_stock: Any, figures: Any
) -> None:
    set_stock("A", 10)
    set_stock("B", 10)
    apply(uow, stock, version(lines=(("A", 3), ("B", 2))))
    partly = version(
        status=OrderStatus.PARTIALLY_SHIPPED,
        updated=T0 + timedelta(hours=1),
        lines=(("A", 3), ("B", 2)),
        shipped={"A": 2},
    )
    order = apply(uow, stock, partly)
    assert order.status is OrderStatus.PARTIALLY_SHIPPED
    assert [(line.quantity_shipped, line.quantity_reserved) for line in order.lines] == [(2, 1), (0, 2)]
    assert figures("A") == (8, 1, 7) and figures("B") == (10, 2, 8)
    # The same report again (a poll of that version, or a later one that ships nothing more).
    later = version(
        status=OrderStatus.PARTIALLY_SHIPPED,
        updated=T0 + timedelta(hours=2),
        lines=(("A", 3), ("B", 2)),
        shipped={"A": 2},
    )
    apply(uow, stock, partly)
    apply(uow, stock, later)
    assert figures("A") == (8, 1, 7)
    done = apply(
        uow,
        stock,
        version(
            status=OrderStatus.SHIPPED,
            updated=T0 + timedelta(hours=3),
            lines=(("A", 3), ("B", 2)),
            shipped={"A": 3, "B": 2},
        ),
    )
    assert [(line.quantity_shipped, line.quantity_reserved) for line in done.lines] == [(3, 0), (2, 0)]
    assert figures("A") == (7, 0, 7) and figures("B") == (8, 0, 8)


def test_paid_before_create_converges(
    uow: UnitOfWork, stock: InventoryStock, set_stock: Any, figures: Any
) -> None:
    set_stock("A", 10)
    set_stock("B", 10)
    paid = apply(uow, stock, version(status=OrderStatus.PAID, updated=T0 + timedelta(seconds=30)))
    created = apply(uow, stock, version(status=OrderStatus.PENDING, updated=T0))
    assert created.id == paid.id and created.status is OrderStatus.PAID
    assert [(c.from_status, c.to_status) for c in created.history] == [(None, OrderStatus.PAID)]
    assert figures("A") == (10, 2, 8)
    assert len(events(uow, "orders.order_imported")) == 1


def test_oversold_order_is_kept_flagged_alerted_and_takes_availability_to_zero(
    uow: UnitOfWork, stock: InventoryStock, set_stock: Any, figures: Any, inventory: Any
) -> None:
    set_stock("A", 2)
    set_stock("B", 5)
    order = apply(uow, stock, version(lines=(("A", 3), ("B", 1))))
    assert OrderFlag.OVERSOLD in order.flags
    assert [(line.sku, line.quantity, line.quantity_reserved) for line in order.lines] == [
        ("A", 3, 2),
        ("B", 1, 1),
    ]
    assert figures("A") == (2, 2, 0)
    # What every channel is pushed: 0 for this connection and any other (no allocation rule).
    for connection in ("conn-shop", "conn-woo"):
        ats = inventory.GetAvailableToSell(inv.GetAvailableToSellRequest(sku="A", connection_id=connection))
        assert ats.available_to_sell == 0
    (alert,) = events(uow, "orders.order_oversold")
    assert alert["lines"] == [{"sku": "A", "requested": 3, "reserved": 2}]
    (imported,) = events(uow, "orders.order_imported")
    assert imported["flags"] == ["oversold"]


def test_unknown_and_missing_skus_are_kept_and_flagged_never_dropped(
    uow: UnitOfWork, stock: InventoryStock, set_stock: Any, figures: Any
) -> None:
    set_stock("A", 5)
    order = apply(uow, stock, version(lines=(("A", 1), ("GHOST", 2), ("", 1))))
    assert [(line.sku, line.sku_known, line.quantity_reserved) for line in order.lines] == [
        ("A", True, 1),
        ("GHOST", False, 0),
        ("", False, 0),
    ]
    assert order.flags == {OrderFlag.UNMAPPED_SKU}  # unknown SKUs are not "oversold"
    assert figures("A") == (5, 1, 4)


def test_channel_cancel_releases_and_channel_shipment_commits(
    uow: UnitOfWork, stock: InventoryStock, set_stock: Any, figures: Any
) -> None:
    set_stock("A", 10)
    set_stock("B", 10)
    apply(uow, stock, version("1", lines=(("A", 2),)))
    apply(uow, stock, version("2", lines=(("B", 3),), email="bo@example.com"))
    assert figures("A") == (10, 2, 8) and figures("B") == (10, 3, 7)

    cancelled = apply(
        uow,
        stock,
        version("1", status=OrderStatus.CANCELLED, updated=T0 + timedelta(hours=1), lines=(("A", 2),)),
    )
    assert cancelled.status is OrderStatus.CANCELLED and cancelled.held == 0
    assert figures("A") == (10, 0, 10)
    shipped = apply(
        uow,
        stock,
        version(
            "2",
            status=OrderStatus.SHIPPED,
            updated=T0 + timedelta(hours=1),
            lines=(("B", 3),),
            email="bo@example.com",
        ),
    )
    assert shipped.status is OrderStatus.SHIPPED and [line.quantity_shipped for line in shipped.lines] == [3]
    assert figures("B") == (7, 0, 7)
    # A refund without a return restocks nothing.
    refunded = apply(
        uow,
        stock,
        version(
            "2",
            status=OrderStatus.REFUNDED,
            updated=T0 + timedelta(hours=2),
            lines=(("B", 3),),
            email="bo@example.com",
        ),
    )
    assert refunded.status is OrderStatus.REFUNDED and figures("B") == (7, 0, 7)
    kinds = Counter(e["order_id"] for e in events(uow, "orders.order_cancelled"))
    assert kinds == {cancelled.id: 1}
    assert len(events(uow, "orders.order_shipped")) == 1 and len(events(uow, "orders.order_refunded")) == 1
    assert events(uow, "orders.cancel_requested") == []  # the channel cancelled it: nothing to tell


def test_an_order_first_seen_cancelled_holds_nothing_but_is_announced(
    uow: UnitOfWork, stock: InventoryStock, set_stock: Any, figures: Any
) -> None:
    set_stock("A", 10)
    order = apply(uow, stock, version(status=OrderStatus.CANCELLED, lines=(("A", 2),)))
    assert order.reservation_id == "" and order.announced and figures("A") == (10, 0, 10)
    assert len(events(uow, "orders.order_imported")) == 1


def test_a_stock_step_that_failed_is_retried_until_inventory_answers(
    uow: UnitOfWork, stock: InventoryStock, set_stock: Any, figures: Any
) -> None:
    """The crash between storing the order and reserving, or inventory being down: the order is
    stored with its stock step owed, and the worker's timer takes the step later."""
    set_stock("A", 10)
    down = InventoryStock("127.0.0.1:1", timeout=2.0)
    try:
        policy = Policy(stock_retry=timedelta(seconds=30))
        order = apply(uow, down, version(lines=(("A", 2),)), policy)
    finally:
        down.close()
    assert order.stock_state.value == "PENDING" and not order.announced and order.stock_error
    assert figures("A") == (10, 0, 10)
    assert service.retry_due_stock(uow, stock, policy, datetime.now(UTC)) == 0  # not due yet
    later = datetime.now(UTC) + timedelta(seconds=31)
    assert service.retry_due_stock(uow, stock, policy, later) == 1
    with uow.transaction() as repo:
        done = repo.load_order(TENANT, order.id)
    assert done is not None and done.announced and done.stock_state.value == "DONE" and done.stock_error == ""
    assert figures("A") == (10, 2, 8)
    assert len(events(uow, "orders.order_imported")) == 1


def test_the_channels_answer_to_a_fulfilment_is_recorded_once(
    uow: UnitOfWork, stock: InventoryStock, set_stock: Any, client: Any
) -> None:
    set_stock("A", 10)
    order = apply(uow, stock, version(lines=(("A", 2),)))
    fulfilled = client.FulfillOrder(
        pb.FulfillOrderRequest(order_id=order.id, carrier="UPS", tracking_number="1Z")
    )
    fulfillment_id = fulfilled.fulfillment.id
    synced = ActionSynced(order.id, "fulfillment", "synced", fulfillment_id, "gid://Fulfillment/9")
    assert service.record_action_synced(uow, TENANT, synced)
    assert not service.record_action_synced(uow, TENANT, synced)  # a repeat changes nothing
    late_failure = ActionSynced(order.id, "fulfillment", "failed", fulfillment_id, message="old")
    assert not service.record_action_synced(uow, TENANT, late_failure)
    shown = client.GetOrder(pb.GetOrderRequest(order_id=order.id)).order.fulfillments[0]
    assert shown.sync_state == pb.FULFILLMENT_SYNC_STATE_SYNCED
    assert shown.external_fulfillment_id == "gid://Fulfillment/9"
