"""Available-to-sell per channel, event snapshots and low-stock alert transitions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from inventory.domain.model import (
    SALES_WINDOW_SECONDS,
    AlertTransition,
    AllocationRule,
    BundleComponent,
    ChannelAvailability,
    SkuSnapshot,
)

# --------------------------------------------------------------------------- availability


# (sku, location_id): how stock rows, their figures and the changes made to them are keyed.
StockKey = tuple[str, str]


def bundle_available(components: Sequence[BundleComponent], available: Mapping[StockKey, int]) -> int:
    """Whole bundles the components allow, location by location: at each location
    min(component available there // quantity), summed over the locations.

    A bundle is assembled from units at ONE location (a reservation of it holds every component
    at the line's location), so units of one component at A and of another at B make no bundle:
    the minimum of the totals would overstate what can be sold.
    """
    if not components:
        return 0
    locations = {location for sku, location in available if sku == components[0].sku}
    return sum(
        max(0, min(max(available.get((c.sku, location), 0), 0) // c.quantity for c in components))
        for location in locations
    )


def dynamic_buffer_units(units_sold_last_hour: int, latency_ms: int) -> int:
    """Units that will likely sell while our push is in flight: ceil(rate/s x latency s).

    rate = units committed on the channel over the last hour / 3600. Integer arithmetic keeps
    the ceiling exact (no float rounding turning 2.0000001 into 3).
    """
    if units_sold_last_hour <= 0 or latency_ms <= 0:
        return 0
    return -(-(units_sold_last_hour * latency_ms) // (SALES_WINDOW_SECONDS * 1000))


def available_to_sell(available: int, rule: AllocationRule | None, dynamic_units: int = 0) -> int:
    """clamp(floor(available x pct / 100) - buffer - dynamic, 0, max_quantity).

    A connection without a rule sees the whole pool (no buffer, no cap).
    """
    pool = max(available, 0)
    if rule is None:
        return pool
    pct = 100 if rule.percentage is None else rule.percentage
    figure = pool * pct // 100 - rule.buffer - (dynamic_units if rule.dynamic_buffer else 0)
    figure = max(figure, 0)
    if rule.max_quantity is not None:
        figure = min(figure, rule.max_quantity)
    return figure


def channel_availability(
    available: int, rules: Sequence[AllocationRule], sales_last_hour: Mapping[str, int]
) -> list[ChannelAvailability]:
    """available_to_sell for every connection with a rule; sales keyed by connection id."""
    out = []
    for rule in rules:
        dynamic = dynamic_buffer_units(
            sales_last_hour.get(rule.connection_id, 0), rule.measured_sync_latency_ms
        )
        out.append(
            ChannelAvailability(rule.connection_id, rule.channel, available_to_sell(available, rule, dynamic))
        )
    return out


# --------------------------------------------------------------------------- events


# (event version, the SKU's own threshold or None, its open alert id or None), read under the
# sku_states row lock.
SkuState = tuple[int, int | None, str | None]


def sku_snapshots(
    skus: Iterable[str],
    versions: Mapping[str, int],
    thresholds: Mapping[str, int],
    definitions: Mapping[str, Sequence[BundleComponent]],
    levels: Mapping[StockKey, tuple[int, int]],
    rules: Sequence[AllocationRule],
    sales: Mapping[tuple[str, str], int],
) -> tuple[dict[str, SkuSnapshot], dict[StockKey, int]]:
    """Figures of `skus` from rows already read: (snapshots, available per stock row read).

    levels: (on_hand, reserved) per (sku, location) of every plain SKU and bundle component;
    definitions: the bundles among `skus`; sales: units per (sku, connection) in the window.
    A plain SKU's figures are the sums over its locations; a bundle's are computed per location
    (bundle_available) and then summed. Pure, so every path builds identical events.
    """
    available = {key: on_hand - reserved for key, (on_hand, reserved) in levels.items()}
    on_hands = {key: on_hand for key, (on_hand, _reserved) in levels.items()}
    totals: dict[str, tuple[int, int]] = {}
    for (sku, _location), (on_hand, reserved) in levels.items():
        total = totals.get(sku, (0, 0))
        totals[sku] = (total[0] + on_hand, total[1] + reserved)
    per_sku_sales: dict[str, dict[str, int]] = defaultdict(dict)
    for (sku, connection), units in sales.items():
        per_sku_sales[sku][connection] = units
    out: dict[str, SkuSnapshot] = {}
    for sku in sorted(set(skus)):
        comps = definitions.get(sku)
        if comps:
            on_hand = bundle_available(comps, on_hands)
            avail = bundle_available(comps, available)
            reserved = on_hand - avail
        else:
            on_hand, reserved = totals.get(sku, (0, 0))
            avail = on_hand - reserved
        out[sku] = SkuSnapshot(
            sku=sku,
            on_hand=on_hand,
            reserved=reserved,
            available=avail,
            version=versions.get(sku, 0),
            is_bundle=bool(comps),
            low_stock_threshold=thresholds.get(sku, 0),
            channels=channel_availability(avail, rules, per_sku_sales.get(sku, {})),
        )
    return out, available


@dataclass(frozen=True)
class PublishPlan:
    """What one stock-changing transaction must write after its changes.

    snapshots: the stock_changed entries, sorted by sku; opens: (sku, threshold, available)
    of alerts to open; closes: (sku, alert_id) of alerts to close.
    """

    snapshots: list[SkuSnapshot]
    opens: list[tuple[str, int, int]]
    closes: list[tuple[str, str]]


def plan_publish(
    skus: Iterable[str],
    states: Mapping[str, SkuState],
    default_threshold: int,
    definitions: Mapping[str, Sequence[BundleComponent]],
    levels: Mapping[StockKey, tuple[int, int]],
    rules: Sequence[AllocationRule],
    sales: Mapping[tuple[str, str], int],
    available_delta: Mapping[StockKey, int],
    *,
    new_thresholds: Mapping[str, int] | None = None,
    previous_default: int | None = None,
) -> PublishPlan:
    """Snapshots and alert transitions from figures read AFTER the change (under the SKU locks).

    available_delta is this transaction's change of available per stock row (sku, location),
    so the figure before it is known without a second read (alerts fire on crossings only).
    """
    new_thresholds = new_thresholds or {}
    was_default = default_threshold if previous_default is None else previous_default
    thresholds: dict[str, int] = {}
    was_thresholds: dict[str, int] = {}
    for sku, (_version, own, _alert) in states.items():
        was_thresholds[sku] = own if own is not None else was_default
        thresholds[sku] = new_thresholds.get(sku, own if own is not None else default_threshold)
    versions = {sku: state[0] for sku, state in states.items()}
    snapshots, available = sku_snapshots(skus, versions, thresholds, definitions, levels, rules, sales)
    before = {
        key: available.get(key, 0) - available_delta.get(key, 0) for key in {*available, *available_delta}
    }
    sku_delta: dict[str, int] = defaultdict(int)
    for (sku, _location), change in available_delta.items():
        sku_delta[sku] += change
    opens: list[tuple[str, int, int]] = []
    closes: list[tuple[str, str]] = []
    for sku, snap in snapshots.items():
        comps = definitions.get(sku)
        was_available = bundle_available(comps, before) if comps else snap.available - sku_delta.get(sku, 0)
        alert_id = states[sku][2]
        transition = low_stock_transition(
            was_available, was_thresholds[sku], snap.available, thresholds[sku], alert_id is not None
        )
        if transition is AlertTransition.OPEN:
            opens.append((sku, thresholds[sku], snap.available))
        elif transition is AlertTransition.CLOSE and alert_id is not None:
            closes.append((sku, alert_id))
    return PublishPlan([snapshots[sku] for sku in sorted(snapshots)], opens, closes)


# --------------------------------------------------------------------------- alerts


def low_stock_transition(
    was_available: int, was_threshold: int, now_available: int, now_threshold: int, alert_open: bool
) -> AlertTransition | None:
    """Open on a crossing from >= threshold to < threshold; close on recovery to >= threshold.

    Staying below does nothing (one alert per dip); a SKU that starts below its threshold opens
    nothing until it has been at or above it once.
    """
    was_low = was_available < was_threshold
    is_low = now_available < now_threshold
    if alert_open:
        return AlertTransition.CLOSE if not is_low else None
    if is_low and not was_low:
        return AlertTransition.OPEN
    return None
