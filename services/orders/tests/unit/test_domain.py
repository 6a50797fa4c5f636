"""The order rules in isolation: no database, no gRPC, no clock."""

from __future__ import annotations

import itertools
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import pytest

from omnistock_common.errors import FailedPrecondition, InvalidArgument
from orders import domain
from orders.domain import (
    ActionSynced,
    Candidate,
    ChannelOrderVersion,
    FulfillCommand,
    HoldOutcome,
    IncomingLine,
    LineRequest,
    NewOrderCommand,
    Order,
    OrderFlag,
    OrderStatus,
    ReturnCommand,
    StepKind,
    SyncState,
    Totals,
)

S = OrderStatus
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def ids() -> itertools.count[int]:
    return itertools.count(1)


def version(
    status: OrderStatus | None = S.PAID,
    updated: datetime | None = T0,
    lines: tuple[tuple[str, int], ...] = (("A", 2), ("B", 1)),
    **fields: object,
) -> ChannelOrderVersion:
    values: dict[str, object] = {
        "connection_id": "c1",
        "source": "SHOPIFY",
        "external_id": "1001",
        "via": "webhook",
        "received_at": T0,
        "status": status,
        "lines": tuple(IncomingLine(sku, q, external_line_id=f"l{i}") for i, (sku, q) in enumerate(lines)),
        "currency": "USD",
        "totals": Totals(total=5000),
        "updated_at": updated,
        "created_at": T0,
        "customer_email": "Ann@Example.com",
    }
    values.update(fields)
    return ChannelOrderVersion(**values)  # type: ignore[arg-type]


def new_order(v: ChannelOrderVersion | None = None) -> Order:
    counter = ids()
    return domain.new_channel_order(v or version(), "o1", lambda: f"line-{next(counter)}", T0)


# --------------------------------------------------------------------------- status


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        (S.PENDING, S.PAID, True),
        (S.PAID, S.PENDING, False),
        (S.PAID, S.CANCELLED, True),
        (S.PARTIALLY_SHIPPED, S.CANCELLED, False),
        (S.SHIPPED, S.PAID, False),
        (S.SHIPPED, S.REFUNDED, True),
        (S.CANCELLED, S.REFUNDED, True),
        (S.CANCELLED, S.PAID, False),
        (S.REFUNDED, S.CANCELLED, False),
    ],
)
def test_transitions(current: OrderStatus, target: OrderStatus, allowed: bool) -> None:
    assert domain.can_move(current, target) is allowed
    if not allowed:
        with pytest.raises(FailedPrecondition):
            domain.require_move(current, target)


def test_a_channel_lagging_behind_never_moves_the_status_back() -> None:
    assert domain.channel_move(S.SHIPPED, S.PAID) is None
    assert domain.channel_move(S.PAID, S.PAID) is None
    assert domain.channel_move(S.PAID, None) is None
    assert domain.channel_move(S.PAID, S.SHIPPED) is S.SHIPPED


def test_version_order_by_the_channels_updated_at() -> None:
    assert domain.is_newer(T0 + timedelta(seconds=1), T0)
    assert not domain.is_newer(T0, T0)  # the same version twice (webhook and poll)
    assert not domain.is_newer(T0 - timedelta(seconds=1), T0)
    assert domain.is_newer(T0, None)
    assert not domain.is_newer(None, T0)


# --------------------------------------------------------------------------- versions


def test_paid_before_create_converges_and_an_old_version_changes_nothing() -> None:
    order = new_order(version(S.PAID, T0 + timedelta(minutes=1), customer_name="Ann"))
    assert order.status is S.PAID and order.stock_state.value == "PENDING"
    outcome = domain.apply_version(order, version(S.PENDING, T0, customer_name="Old"), lambda: "x", T0)
    assert not outcome.applied and order.status is S.PAID and order.customer_name == "Ann"
    assert [(c.from_status, c.to_status) for c in order.history] == [(None, S.PAID)]


def test_a_newer_version_edits_lines_but_keeps_what_omnistock_knows_of_them() -> None:
    order = new_order()
    order.lines[0].quantity_reserved = 2
    order.lines[1].quantity_shipped = 1
    counter = ids()
    outcome = domain.apply_version(
        order,
        version(S.SHIPPED, T0 + timedelta(minutes=5), lines=(("A", 3), ("C", 1))),
        lambda: f"new-{next(counter)}",
        T0,
    )
    assert outcome.applied and outcome.lines_changed
    assert outcome.status_change is not None and outcome.status_change.to_status is S.SHIPPED
    # Lines match by external line id: A keeps its id and hold; line l1 now sells C.
    assert [(x.id, x.sku, x.quantity, x.quantity_reserved) for x in order.lines] == [
        ("line-1", "A", 3, 2),
        ("line-2", "C", 1, 0),
    ]
    assert order.version == 2


def test_a_line_the_channel_dropped_stays_while_anything_of_it_shipped_or_is_held() -> None:
    order = new_order(version(lines=(("A", 1), ("B", 1), ("C", 1))))
    order.lines[1].quantity_reserved = 1
    domain.apply_version(
        order, version(updated=T0 + timedelta(minutes=1), lines=(("A", 1),)), lambda: "n", T0
    )
    assert [x.sku for x in order.lines] == ["A", "B"] and [x.line_no for x in order.lines] == [1, 2]


def test_lines_without_a_usable_sku_are_kept_but_not_asked_about() -> None:
    order = new_order(version(lines=(("A", 1), ("", 2), ("bad\u200bsku", 1))))
    assert [x.sku_known for x in order.lines] == [True, False, False]
    step = domain.next_stock_step(order)
    assert step is not None and step.kind is StepKind.RESERVE and step.lines == (("A", 1),)


# --------------------------------------------------------------------------- stock


def test_stock_steps_of_an_order_life() -> None:
    order = new_order(version(lines=(("A", 3), ("B", 1), ("A", 1))))
    step = domain.next_stock_step(order)
    assert step is not None and step.kind is StepKind.RESERVE
    assert domain.reservation_key(order) == "c1:1001"
    oversold = domain.apply_hold(order, HoldOutcome("r1", {"A": 3, "B": 0}, unknown={"B"}))
    # Held units of A go to its lines in line order: the first gets 3, the second none.
    assert [(x.sku, x.quantity_reserved, x.sku_known) for x in order.lines] == [
        ("A", 3, True),
        ("B", 0, False),
        ("A", 0, True),
    ]
    assert [(x.sku, x.requested, x.reserved) for x in oversold] == [("A", 1, 0)]
    assert order.flags == {OrderFlag.OVERSOLD, OrderFlag.UNMAPPED_SKU} and order.announced
    assert domain.next_stock_step(order) is None
    order.status = S.CANCELLED
    release = domain.next_stock_step(order)
    assert release is not None and release.kind is StepKind.RELEASE and release.reservation_id == "r1"
    domain.apply_release(order)
    assert order.held == 0 and domain.next_stock_step(order) is None


def test_a_channel_shipment_commits_what_is_held() -> None:
    order = new_order()
    domain.apply_hold(order, HoldOutcome("r1", {"A": 2, "B": 1}))
    order.status = S.SHIPPED
    step = domain.next_stock_step(order)
    assert step is not None and step.kind is StepKind.COMMIT_ALL
    domain.apply_commit_all(order)
    assert order.held == 0 and all(x.quantity_shipped == x.quantity for x in order.lines)
    assert domain.next_stock_step(order) is None


def test_an_order_first_seen_closed_asks_for_nothing() -> None:
    order = new_order(version(S.CANCELLED))
    step = domain.next_stock_step(order)
    assert step is not None and step.lines == ()
    domain.apply_hold(order, None)
    assert order.announced and order.reservation_id == "" and not order.flags


# --------------------------------------------------------------------------- merchant actions


def held_order() -> Order:
    order = new_order()
    domain.apply_hold(order, HoldOutcome("r1", {"A": 1, "B": 1}))  # A: 1 of 2 held
    return order


def test_fulfilment_commits_the_hold_and_tops_up_the_rest() -> None:
    order = held_order()
    cmd = FulfillCommand("o1", lines=(LineRequest("", "A", 2),))
    plan = domain.plan_fulfillment(order, cmd)
    assert plan.commit == (("A", 1),) and plan.top_up == (("A", 1),)
    fulfillment, change = domain.apply_fulfillment(order, plan, cmd, "f1", T0)
    assert change is not None and change.to_status is S.PARTIALLY_SHIPPED
    assert fulfillment.sync_state is SyncState.PENDING and [
        (x.sku, x.quantity) for x in fulfillment.lines
    ] == [("A", 2)]
    rest = domain.plan_fulfillment(order, FulfillCommand("o1"))
    assert rest.units == {order.lines[1].id: 1} and rest.commit == (("B", 1),) and rest.top_up == ()
    domain.apply_fulfillment(order, rest, FulfillCommand("o1"), "f2", T0)
    assert order.status is S.SHIPPED and order.held == 0
    with pytest.raises(FailedPrecondition):
        domain.plan_fulfillment(order, FulfillCommand("o1"))  # nothing left


def test_fulfilment_refusals() -> None:
    with pytest.raises(FailedPrecondition, match="not reserved yet"):
        domain.plan_fulfillment(new_order(), FulfillCommand("o1"))  # its hold is still owed
    order = held_order()
    with pytest.raises(FailedPrecondition):
        domain.plan_fulfillment(order, FulfillCommand("o1", lines=(LineRequest("", "A", 3),)))
    with pytest.raises(InvalidArgument):
        domain.plan_fulfillment(order, FulfillCommand("o1", lines=(LineRequest("nope", "", 1),)))
    with pytest.raises(InvalidArgument):
        domain.validate_fulfill(
            FulfillCommand("o1", tracking_url="ftp://x", lines=(LineRequest("", "A", 0),))
        )
    order.status = S.CANCELLED
    with pytest.raises(FailedPrecondition):
        domain.plan_fulfillment(order, FulfillCommand("o1"))


def test_cancel_and_returns() -> None:
    order = held_order()
    domain.check_cancel(order)
    change = domain.apply_cancel(order, "changed mind", T0)
    assert change is not None and order.status is S.CANCELLED and order.held == 0
    assert order.cancel_sync_state is SyncState.PENDING

    shipped = held_order()
    domain.apply_fulfillment(
        shipped, domain.plan_fulfillment(shipped, FulfillCommand("o1")), FulfillCommand("o1"), "f", T0
    )
    with pytest.raises(FailedPrecondition):
        domain.check_cancel(shipped)
    cmd = ReturnCommand("o1", (LineRequest("", "A", 2, restock=True), LineRequest("", "B", 1, restock=False)))
    plan = domain.plan_return(shipped, cmd)
    assert plan.restock == (("A", 2),)
    domain.apply_return(shipped, plan)
    assert [x.quantity_returned for x in shipped.lines] == [2, 1]
    with pytest.raises(FailedPrecondition):
        domain.plan_return(shipped, ReturnCommand("o1", (LineRequest("", "A", 1),)))


# --------------------------------------------------------------------------- manual orders


def test_manual_order_validation_names_every_bad_field() -> None:
    cmd = NewOrderCommand(
        lines=(IncomingLine("", 0), IncomingLine("A", 1, unit_price=-1)),
        currency="XXX",
        customer_email="nope",
        status=S.SHIPPED,
        money_currencies=(("shipping", "EUR"),),
    )
    with pytest.raises(InvalidArgument) as info:
        domain.validate_new_order(cmd)
    fields = {v.field for v in info.value.violations}
    assert fields == {
        "currency",
        "shipping",
        "customer_email",
        "status",
        "lines[0].sku",
        "lines[0].quantity",
        "lines[1].unit_price.amount_minor",
    }


def test_manual_order_totals_and_shape() -> None:
    cmd = NewOrderCommand(
        lines=(
            IncomingLine("A", 2, unit_price=1000, discount=100, tax=50),
            IncomingLine("B", 1, unit_price=500),
        ),
        currency="USD",
        shipping=300,
    )
    domain.validate_new_order(cmd)
    order = domain.new_manual_order(cmd, "abcdef12-0000", lambda: "l", T0, "{}")
    assert order.totals == Totals(subtotal=2500, discount=100, shipping=300, tax=50, total=2750)
    assert (order.source, order.connection_id, order.external_id) == ("MANUAL", "", "abcdef12-0000")
    assert order.external_name == "M-ABCDEF12" and domain.reservation_key(order) == "manual:abcdef12-0000"


# --------------------------------------------------------------------------- duplicates


def test_the_duplicate_rule() -> None:
    order = new_order()
    window = timedelta(minutes=10)

    def candidate(**changes: object) -> Candidate:
        values: dict[str, object] = {
            "order_id": "o2",
            "email": "ann@example.com",
            "total": 5000,
            "currency": "USD",
            "created_at": T0 + timedelta(minutes=9),
        }
        values.update(changes)
        return Candidate(**values)  # type: ignore[arg-type]

    assert domain.is_possible_duplicate(order, candidate(), window)
    assert not domain.is_possible_duplicate(order, candidate(order_id="o1"), window)  # itself
    assert not domain.is_possible_duplicate(order, candidate(total=5001), window)
    assert not domain.is_possible_duplicate(order, candidate(currency="EUR"), window)
    assert not domain.is_possible_duplicate(order, candidate(created_at=T0 - timedelta(minutes=11)), window)
    order.customer_email = ""
    assert domain.duplicate_key(order) is None


# --------------------------------------------------------------------------- idempotency, codec, sync


def test_fingerprints_ignore_the_key_and_see_the_body() -> None:
    a = FulfillCommand("o1", "UPS", idempotency_key="k1")
    assert domain.fingerprint(a) == domain.fingerprint(FulfillCommand("o1", "UPS", idempotency_key="k2"))
    assert domain.fingerprint(a) != domain.fingerprint(FulfillCommand("o1", "DHL", idempotency_key="k1"))
    assert domain.fulfill_command_from(asdict(a)) == a  # what the worker rebuilds after a crash


def test_an_order_survives_its_json_form() -> None:
    order = held_order()
    domain.apply_fulfillment(
        order, domain.plan_fulfillment(order, FulfillCommand("o1")), FulfillCommand("o1"), "f", T0
    )
    order.flags.add(OrderFlag.POSSIBLE_DUPLICATE)
    assert domain.order_from_dict(domain.order_to_dict(order)) == order


def test_the_channels_answers() -> None:
    order = held_order()
    domain.apply_fulfillment(
        order, domain.plan_fulfillment(order, FulfillCommand("o1")), FulfillCommand("o1"), "f1", T0
    )
    assert domain.apply_action_synced(
        order, ActionSynced("o1", "fulfillment", "failed", "f1", message="bad address")
    )
    assert order.fulfillments[0].sync_state is SyncState.FAILED
    assert domain.apply_action_synced(order, ActionSynced("o1", "fulfillment", "synced", "f1", "ext-1"))
    assert not domain.apply_action_synced(order, ActionSynced("o1", "fulfillment", "failed", "f1"))  # final
    assert not domain.apply_action_synced(order, ActionSynced("o1", "fulfillment", "synced", "f-unknown"))
    assert not domain.apply_action_synced(order, ActionSynced("o1", "cancel", "synced"))  # never asked
    assert not domain.apply_action_synced(order, ActionSynced("o1", "fulfillment", "maybe", "f1"))


def test_cursors_round_trip_and_garbage_is_refused() -> None:
    cursor = domain.cursor_after(T0, "o9")
    key = domain.parse_cursor(cursor)
    assert key is not None and (key.created_at, key.order_id) == (T0, "o9")
    for garbage in ("%%%", "eyJ4IjoxfQ", domain.cursor_after(T0, "o9")[:-3]):
        with pytest.raises(InvalidArgument):
            domain.parse_cursor(garbage)
    assert domain.page_size(0) == 50 and domain.page_size(10_000) == 500
