"""Pure inventory rules: allocation math, bundles, alert crossings, validation, reservation plans."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from inventory import domain
from inventory.config import load_settings
from inventory.domain import (
    AdjustmentLine,
    AdjustmentReason,
    AlertTransition,
    AllocationRule,
    BundleComponent,
    Reservation,
    ReservationStatus,
    ResolvedLine,
)
from omnistock_common.config import ConfigError
from omnistock_common.errors import FailedPrecondition, InvalidArgument

NOW = datetime(2025, 1, 1, tzinfo=UTC)

# --------------------------------------------------------------------------- allocation


@pytest.mark.parametrize(
    ("available", "rule", "dynamic", "expected"),
    [
        (100, None, 0, 100),
        (-3, None, 0, 0),
        (100, AllocationRule("c", buffer=5), 0, 95),
        (3, AllocationRule("c", buffer=5), 0, 0),
        (100, AllocationRule("c", percentage=33), 0, 33),
        (10, AllocationRule("c", percentage=33), 0, 3),  # floor(3.3)
        (100, AllocationRule("c", max_quantity=20), 0, 20),
        (100, AllocationRule("c", percentage=50, buffer=2, max_quantity=30), 0, 30),
        (50, AllocationRule("c", percentage=50, buffer=2, max_quantity=30), 0, 23),
        (100, AllocationRule("c", percentage=0), 0, 0),
        (100, AllocationRule("c", max_quantity=0), 0, 0),
        (100, AllocationRule("c", buffer=1, dynamic_buffer=True), 7, 92),
        (100, AllocationRule("c", buffer=1, dynamic_buffer=False), 7, 99),  # dynamic units ignored
        (5, AllocationRule("c", dynamic_buffer=True), 9, 0),
    ],
)
def test_available_to_sell(available: int, rule: AllocationRule | None, dynamic: int, expected: int) -> None:
    assert domain.available_to_sell(available, rule, dynamic) == expected


@pytest.mark.parametrize(
    ("units", "latency_ms", "expected"),
    [
        (0, 5000, 0),
        (3600, 0, 0),
        (3600, 1000, 1),  # 1 unit/s x 1 s
        (3600, 2500, 3),  # ceil(2.5)
        (3600, 2000, 2),  # exact: no rounding up of an integer
        (1, 1, 1),  # any sale in flight keeps at least one unit back
        (7200, 30_000, 60),
    ],
)
def test_dynamic_buffer_units(units: int, latency_ms: int, expected: int) -> None:
    assert domain.dynamic_buffer_units(units, latency_ms) == expected


def test_channel_availability_uses_each_connections_sales() -> None:
    rules = [
        AllocationRule("a", channel="shopify", dynamic_buffer=True, measured_sync_latency_ms=1000),
        AllocationRule("b", channel="ebay", buffer=4),
    ]
    result = domain.channel_availability(20, rules, {"a": 7200, "b": 7200})
    assert [(c.connection_id, c.channel, c.available_to_sell) for c in result] == [
        ("a", "shopify", 18),
        ("b", "ebay", 16),
    ]


# --------------------------------------------------------------------------- bundles


def test_bundle_available_is_min_of_component_quotients() -> None:
    comps = [BundleComponent("CUP", 2), BundleComponent("LID", 1)]
    assert domain.bundle_available(comps, {("CUP", "A"): 9, ("LID", "A"): 10}) == 4
    assert domain.bundle_available(comps, {("CUP", "A"): 20, ("LID", "A"): 3}) == 3
    assert domain.bundle_available(comps, {("CUP", "A"): 20}) == 0  # a missing component has 0
    assert domain.bundle_available(comps, {("CUP", "A"): -4, ("LID", "A"): 3}) == 0
    assert domain.bundle_available([], {("CUP", "A"): 9}) == 0


def test_bundle_available_is_computed_per_location_then_summed() -> None:
    comps = [BundleComponent("CUP", 2), BundleComponent("LID", 1)]
    # Totals CUP 10, LID 5 would say min(10 // 2, 5) = 5 kits; but the lids are at B and the
    # cups at A, and a kit is assembled at one location: none can be sold.
    split = {("CUP", "A"): 10, ("LID", "B"): 5}
    assert domain.bundle_available(comps, split) == 0
    # A: min(6 // 2, 1) = 1, B: min(4 // 2, 4) = 2 -> 3 (the totals' min(10 // 2, 5) = 5 is wrong).
    both = {("CUP", "A"): 6, ("LID", "A"): 1, ("CUP", "B"): 4, ("LID", "B"): 4}
    assert domain.bundle_available(comps, both) == 3
    # A negative figure at one location does not eat into another's.
    assert domain.bundle_available(comps, {**both, ("CUP", "A"): -6}) == 2


def test_bundle_snapshot_and_alerts_use_per_location_figures() -> None:
    kit = [BundleComponent("CUP", 2), BundleComponent("LID", 1)]
    levels = {("CUP", "A"): (6, 2), ("LID", "A"): (1, 0), ("CUP", "B"): (4, 0), ("LID", "B"): (4, 1)}
    snaps, available = domain.sku_snapshots(
        ["KIT", "CUP"], {"KIT": 7}, {"KIT": 2}, {"KIT": kit}, levels, [AllocationRule("c")], {}
    )
    # on_hand: A min(6 // 2, 1) = 1, B min(4 // 2, 4) = 2; available: A min(4 // 2, 1) = 1, B min(2, 3) = 2.
    assert (snaps["KIT"].on_hand, snaps["KIT"].available, snaps["KIT"].reserved) == (3, 3, 0)
    assert snaps["KIT"].channels[0].available_to_sell == 3
    assert (snaps["CUP"].on_hand, snaps["CUP"].reserved, snaps["CUP"].available) == (10, 2, 8)
    assert available[("CUP", "A")] == 4
    # Reserving 2 cups at B drops B's kits from 2 to 1: KIT goes 3 -> 2 and crosses its threshold
    # of 3 (the totals would have said min(8 // 2, 4) = 4 -> min(6 // 2, 4) = 3: no alert).
    after = {**levels, ("CUP", "B"): (4, 2)}
    plan = domain.plan_publish(
        ["KIT"],
        {"KIT": (8, 3, None)},
        10,
        {"KIT": kit},
        after,
        [],
        {},
        {("CUP", "B"): -2},
    )
    assert plan.snapshots[0].available == 2
    assert plan.opens == [("KIT", 3, 2)]


def test_plan_reservation_merges_demands_across_lines_and_bundles() -> None:
    kit = (BundleComponent("CUP", 2), BundleComponent("LID", 1))
    lines, demands = domain.plan_reservation(
        [
            ResolvedLine("KIT", 3, "loc1", "default", kit),
            ResolvedLine("CUP", 4, "loc1", "default"),
            ResolvedLine("CUP", 1, "loc2", "east"),
            ResolvedLine("CUP", 1, "loc1", "default"),
        ]
    )
    assert [(d.sku, d.location_id, d.quantity) for d in demands] == [
        ("CUP", "loc1", 11),
        ("CUP", "loc2", 1),
        ("LID", "loc1", 3),
    ]
    assert [line.line_no for line in lines] == [1, 4, 5, 6]
    assert [(c.line_no, c.sku, c.quantity, c.per_unit) for c in lines[0].components] == [
        (2, "CUP", 6, 2),
        (3, "LID", 3, 1),
    ]


def _reservation() -> Reservation:
    kit = (BundleComponent("CUP", 2), BundleComponent("LID", 1))
    lines, _ = domain.plan_reservation(
        [
            ResolvedLine("KIT", 3, "l", "default", kit),
            ResolvedLine("A", 2, "l", "default"),
            ResolvedLine("A", 3, "l", "default"),
        ]
    )
    return Reservation("r1", "o1", ReservationStatus.HELD, lines, NOW, NOW)


def test_allocate_holds_decides_a_group_in_order_each_all_or_nothing() -> None:
    def demand(sku: str, quantity: int, loc: str = "L1") -> domain.StockDemand:
        return domain.StockDemand(sku, loc, "main", quantity)

    levels = {("A", "L1"): (10, 2), ("B", "L1"): (5, 0)}  # A: 8 available, B: 5
    requests = [
        [demand("A", 3)],  # held: A 8 -> 5
        [demand("A", 4), demand("B", 6)],  # B short: takes nothing, A stays 5
        [demand("A", 5), demand("B", 5)],  # held: A 5 -> 0, B 5 -> 0
        [demand("A", 1)],  # short: nothing left
        [demand("C", 1)],  # no stock row at all
    ]
    decisions, after = domain.allocate_holds(requests, levels)
    assert [d.held for d in decisions] == [True, False, True, False, False]
    assert decisions[0].after == [(10, 5)]
    assert decisions[2].after == [(10, 10), (5, 5)]  # ledger after-values, in order
    assert [(d.sku, available) for d, available in decisions[1].shorts] == [("B", 5)]
    assert [(d.sku, available) for d, available in decisions[3].shorts] == [("A", 0)]
    assert [(d.sku, available) for d, available in decisions[4].shorts] == [("C", 0)]
    assert after == {("A", "L1"): (10, 10), ("B", "L1"): (5, 5)}
    assert levels == {("A", "L1"): (10, 2), ("B", "L1"): (5, 0)}  # input untouched


def test_fitted_requests_hold_what_is_left_line_by_line() -> None:
    """allow_shortfall: a fitted request is never refused; its lines are cut in order to what
    the requests before it left, a bundle line to its scarcest component."""
    kit = (BundleComponent("CUP", 2),)
    levels = {("A", "L1"): (10, 6), ("CUP", "L1"): (7, 0)}  # A: 4 available, CUP: 7
    first = [domain.StockDemand("A", "L1", "main", 1)]
    lines = [
        ResolvedLine("A", 5, "L1", "main"),
        ResolvedLine("KIT", 4, "L1", "main", kit),
        ResolvedLine("A", 2, "L1", "main"),
        ResolvedLine("NEW", 1, "L1", "main"),
    ]
    decisions, after = domain.allocate_holds([first, []], levels, fitted={1: lines})
    assert [d.held for d in decisions] == [True, True]
    fitted = decisions[1].lines
    assert fitted is not None
    assert [line.quantity for line in fitted] == [3, 3, 0, 0]  # A: 4 - 1 left; KIT: 7 // 2
    assert [(c.sku, c.quantity) for c in fitted[1].components] == [("CUP", 6)]
    assert [(d.sku, d.quantity) for d in decisions[1].demands] == [("A", 3), ("CUP", 6)]
    assert after == {("A", "L1"): (10, 10), ("CUP", "L1"): (7, 6)}

    reservation = Reservation("r", "o", ReservationStatus.HELD, fitted, None, NOW)
    shorts = domain.shortfalls([("A", 5), ("KIT", 4), ("A", 2), ("NEW", 1)], reservation, {"NEW"})
    assert [(s.sku, s.requested, s.held, s.unknown_sku) for s in shorts] == [
        ("A", 5, 3, False),
        ("KIT", 4, 3, False),
        ("A", 2, 0, False),
        ("NEW", 1, 0, True),
    ]
    assert Reservation.from_dict(reservation.to_dict()) == reservation  # no expiry survives JSON


def test_partial_commit_spreads_over_lines_and_settles_components() -> None:
    res = _reservation()
    plan = domain.plan_commit(res, [("A", 4), ("KIT", 1)])
    assert plan == {1: 1, 4: 2, 5: 2}
    demands = domain.settle(res, plan, commit=True)
    assert [(d.sku, d.quantity) for d in demands] == [("A", 4), ("CUP", 2), ("LID", 1)]
    assert domain.status_after_commit(res) == ReservationStatus.PARTIALLY_COMMITTED
    assert [c.committed for c in res.lines[0].components] == [2, 1]
    with pytest.raises(FailedPrecondition):
        domain.plan_commit(res, [("A", 2)])  # only 1 still held
    with pytest.raises(FailedPrecondition):
        domain.plan_commit(res, [("NOPE", 1)])
    with pytest.raises(InvalidArgument):
        domain.plan_commit(res, [("A", 0)])
    released = domain.settle(res, domain.release_plan(res), commit=False)
    assert [(d.sku, d.quantity) for d in released] == [("A", 1), ("CUP", 4), ("LID", 2)]
    assert res.held == 0


def test_commit_everything_then_nothing_is_left() -> None:
    res = _reservation()
    domain.settle(res, domain.plan_commit(res, []), commit=True)
    res.status = domain.status_after_commit(res)
    assert res.status == ReservationStatus.COMMITTED
    with pytest.raises(FailedPrecondition):
        domain.plan_commit(res, [])


def test_reservation_round_trips_through_json() -> None:
    res = _reservation()
    assert Reservation.from_dict(res.to_dict()) == res


# --------------------------------------------------------------------------- alerts


@pytest.mark.parametrize(
    ("was", "now", "alert_open", "expected"),
    [
        (10, 9, False, AlertTransition.OPEN),  # crossing 10 -> below
        (50, 0, False, AlertTransition.OPEN),
        (9, 5, False, None),  # already below, no alert: not a crossing
        (9, 5, True, None),  # still below: one alert per dip
        (5, 10, True, AlertTransition.CLOSE),  # recovered to the threshold
        (5, 9, True, None),
        (20, 15, False, None),
        (0, 20, False, None),
    ],
)
def test_low_stock_transition(was: int, now: int, alert_open: bool, expected: AlertTransition | None) -> None:
    assert domain.low_stock_transition(was, 10, now, 10, alert_open) == expected


def test_threshold_change_itself_can_cross() -> None:
    assert domain.low_stock_transition(8, 5, 8, 10, False) == AlertTransition.OPEN
    assert domain.low_stock_transition(8, 10, 8, 5, True) == AlertTransition.CLOSE
    assert domain.low_stock_transition(0, 0, 0, 0, False) is None  # threshold 0 never alerts


# --------------------------------------------------------------------------- adjustments and validation


def line(**kw: object) -> AdjustmentLine:
    base: dict[str, object] = {
        "sku": "A",
        "location_code": "",
        "delta": 1,
        "set": None,
        "reason": AdjustmentReason.RECEIVED,
    }
    base.update(kw)
    return AdjustmentLine(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"reason": None}, "line.reason"),
        ({"sku": ""}, "line.sku"),
        ({"sku": " A"}, "line.sku"),
        ({"sku": "x" * 129}, "line.sku"),
        ({"delta": None}, "line.change"),
        ({"delta": 0}, "line.delta"),
        ({"delta": None, "set": -1}, "line.set"),
        ({"reference": "r" * 300}, "line.reference"),
    ],
)
def test_adjustment_violations(change: dict[str, object], field: str) -> None:
    assert [v.field for v in domain.adjustment_violations(line(**change))] == [field]


def test_valid_adjustment_has_no_violations() -> None:
    assert domain.adjustment_violations(line(delta=None, set=0)) == []


def test_apply_adjustment_never_goes_below_reserved_or_zero() -> None:
    assert domain.apply_adjustment(5, 2, line(delta=3)) == 8
    assert domain.apply_adjustment(5, 2, line(delta=-3)) == 2
    assert domain.apply_adjustment(5, 2, line(delta=None, set=2)) == 2
    with pytest.raises(FailedPrecondition):
        domain.apply_adjustment(5, 2, line(delta=-4))
    with pytest.raises(FailedPrecondition):
        domain.apply_adjustment(5, 2, line(delta=None, set=1))
    with pytest.raises(FailedPrecondition):
        domain.apply_adjustment(0, 0, line(delta=-1))


def test_batch_size_limits() -> None:
    domain.validate_batch_size(10_000, 10_000)
    with pytest.raises(InvalidArgument):
        domain.validate_batch_size(10_001, 10_000)
    with pytest.raises(InvalidArgument):
        domain.validate_batch_size(0, 10_000)


def test_reserve_validation_lists_every_problem() -> None:
    with pytest.raises(InvalidArgument) as info:
        domain.validate_reserve("", [domain.ReserveLineInput("", 0)], -1, 100, 10)
    assert {v.field for v in info.value.violations} == {
        "order_ref",
        "ttl_seconds",
        "lines[0].sku",
        "lines[0].quantity",
    }
    domain.validate_reserve("o", [domain.ReserveLineInput("A", 1)], 0, 100, 10)


def test_bundle_validation() -> None:
    ok = [BundleComponent("CUP", 2)]
    domain.validate_bundle("KIT", ok, (), False)
    cases = [
        ("KIT", [], (), False, "components"),
        ("KIT", [BundleComponent("KIT", 1)], (), False, "components[0].sku"),
        ("KIT", [BundleComponent("CUP", 0)], (), False, "components[0].quantity"),
        ("KIT", [BundleComponent("CUP", 1), BundleComponent("CUP", 1)], (), False, "components[1].sku"),
        ("KIT", ok, ("CUP",), False, "components"),
        ("KIT", ok, (), True, "sku"),
    ]
    for sku, comps, nested, is_component, field in cases:
        with pytest.raises(InvalidArgument) as info:
            domain.validate_bundle(sku, comps, nested, is_component)
        assert field in {v.field for v in info.value.violations}


def test_allocation_rule_validation() -> None:
    domain.validate_allocation_rule(AllocationRule("c", percentage=100, max_quantity=0))
    for rule in (
        AllocationRule(""),
        AllocationRule("c", buffer=-1),
        AllocationRule("c", percentage=101),
        AllocationRule("c", max_quantity=-1),
    ):
        with pytest.raises(InvalidArgument):
            domain.validate_allocation_rule(rule)


# --------------------------------------------------------------------------- settings


def test_settings_defaults_and_bad_values() -> None:
    settings = load_settings({})
    assert settings.policy == domain.Policy(900, 30 * 86400, 10, 10_000)
    assert settings.server.grpc_port == 50052
    with pytest.raises(ConfigError, match="INVENTORY_RESERVATION_TTL_SECONDS"):
        load_settings({"INVENTORY_RESERVATION_TTL_SECONDS": "soon"})
