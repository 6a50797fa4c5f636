"""Inventory rules in plain Python: no database, no gRPC, no clock.

Everything here is a pure function of its inputs so it can be unit-tested exhaustively; the
service layer feeds it rows read under lock and writes back what it decides.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from omnistock_common.errors import FailedPrecondition, FieldViolation, InvalidArgument
from omnistock_common.identifiers import identifier_problem

DEFAULT_LOCATION_CODE = "default"
MAX_QUANTITY = 10**12  # far above any real stock; keeps int64 sums safe
MAX_SKU_LENGTH = 128
MAX_TEXT_LENGTH = 256
SALES_WINDOW_SECONDS = 3600
EXPIRY_ACTOR = "worker:expiry"


@dataclass(frozen=True)
class Policy:
    """Business defaults the use cases need (built from Settings in config.py)."""

    default_reservation_ttl_seconds: int = 900
    max_reservation_ttl_seconds: int = 30 * 86400
    default_low_stock_threshold: int = 10
    max_batch_lines: int = 10_000


class MovementKind(StrEnum):
    ADJUSTMENT = "ADJUSTMENT"
    RESERVE = "RESERVE"
    COMMIT = "COMMIT"
    RELEASE = "RELEASE"
    EXPIRE = "EXPIRE"


class AdjustmentReason(StrEnum):
    RECEIVED = "RECEIVED"
    CORRECTION = "CORRECTION"
    DAMAGED = "DAMAGED"
    RETURNED = "RETURNED"
    CYCLE_COUNT = "CYCLE_COUNT"
    SALE = "SALE"
    TRANSFER = "TRANSFER"
    IMPORT = "IMPORT"
    LOST = "LOST"


class ReservationStatus(StrEnum):
    HELD = "HELD"
    PARTIALLY_COMMITTED = "PARTIALLY_COMMITTED"
    COMMITTED = "COMMITTED"
    RELEASED = "RELEASED"
    EXPIRED = "EXPIRED"


# Statuses that still hold stock: the only ones commit, release and expiry act on.
HOLDING_STATUSES = (ReservationStatus.HELD, ReservationStatus.PARTIALLY_COMMITTED)


class AlertStatus(StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"


class AlertTransition(StrEnum):
    OPEN = "OPEN"
    CLOSE = "CLOSE"


# --------------------------------------------------------------------------- value objects


@dataclass(frozen=True)
class Location:
    id: str
    code: str
    name: str
    is_default: bool
    created_at: datetime


@dataclass(frozen=True)
class StockLevel:
    sku: str
    location_code: str
    on_hand: int
    reserved: int
    version: int
    updated_at: datetime

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["updated_at"] = self.updated_at.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StockLevel:
        return cls(**{**data, "updated_at": datetime.fromisoformat(data["updated_at"])})


@dataclass(frozen=True)
class AdjustmentLine:
    """One requested change: exactly one of delta / set."""

    sku: str
    location_code: str
    delta: int | None
    set: int | None
    reason: AdjustmentReason | None
    note: str = ""
    reference: str = ""


@dataclass(frozen=True)
class LineError:
    """Why one batch line was refused (code is a google.rpc.Code name)."""

    code: str
    field: str
    message: str


@dataclass(frozen=True)
class LineResult:
    index: int
    level: StockLevel | None = None
    error: LineError | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "level": self.level.to_dict() if self.level else None,
            "error": asdict(self.error) if self.error else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LineResult:
        return cls(
            index=data["index"],
            level=StockLevel.from_dict(data["level"]) if data["level"] else None,
            error=LineError(**data["error"]) if data["error"] else None,
        )


@dataclass(frozen=True)
class Movement:
    id: int
    at: datetime
    kind: MovementKind
    sku: str
    location_code: str
    on_hand_delta: int
    reserved_delta: int
    on_hand_after: int
    reserved_after: int
    reason: AdjustmentReason | None
    note: str
    actor: str
    reference: str


@dataclass(frozen=True)
class LedgerMismatch:
    sku: str
    location_code: str
    on_hand: int
    ledger_on_hand: int
    reserved: int
    ledger_reserved: int


@dataclass(frozen=True)
class ReconcileReport:
    checked: int
    mismatches: list[LedgerMismatch]


@dataclass(frozen=True)
class BundleComponent:
    sku: str
    quantity: int


@dataclass(frozen=True)
class AllocationRule:
    connection_id: str
    channel: str = ""
    buffer: int = 0
    max_quantity: int | None = None
    percentage: int | None = None
    dynamic_buffer: bool = False
    measured_sync_latency_ms: int = 0


@dataclass(frozen=True)
class ChannelAvailability:
    connection_id: str
    channel: str
    available_to_sell: int


@dataclass(frozen=True)
class SkuSnapshot:
    """What the world should know about one SKU right now (event entry and GetSkuStock)."""

    sku: str
    on_hand: int
    reserved: int
    available: int
    version: int
    is_bundle: bool
    low_stock_threshold: int
    channels: list[ChannelAvailability] = field(default_factory=list)

    def event_entry(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "available": self.available,
            "on_hand": self.on_hand,
            "reserved": self.reserved,
            "version": self.version,
            "channels": [
                {
                    "connection_id": c.connection_id,
                    "channel": c.channel,
                    "available_to_sell": c.available_to_sell,
                }
                for c in self.channels
            ],
        }


@dataclass(frozen=True)
class Alert:
    id: str
    sku: str
    status: AlertStatus
    threshold: int
    available_at_open: int
    opened_at: datetime
    closed_at: datetime | None


@dataclass
class ReservationLine:
    """A requested line (components set for a bundle) or one component of a bundle line.

    Quantities of a component are in component units: quantity = bundle quantity x per_unit.
    """

    line_no: int
    sku: str
    location_id: str
    location_code: str
    quantity: int
    committed: int = 0
    released: int = 0
    per_unit: int = 1
    parent_line_no: int | None = None
    components: list[ReservationLine] = field(default_factory=list)

    @property
    def held(self) -> int:
        return self.quantity - self.committed - self.released

    @property
    def is_bundle(self) -> bool:
        return bool(self.components)


@dataclass
class Reservation:
    id: str
    order_ref: str
    status: ReservationStatus
    lines: list[ReservationLine]
    expires_at: datetime
    created_at: datetime
    channel_connection_id: str = ""

    @property
    def held(self) -> int:
        return sum(line.held for line in self.lines)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["expires_at"] = self.expires_at.isoformat()
        data["created_at"] = self.created_at.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reservation:
        def line(raw: Mapping[str, Any]) -> ReservationLine:
            return ReservationLine(**{**raw, "components": [line(c) for c in raw["components"]]})

        return cls(
            id=data["id"],
            order_ref=data["order_ref"],
            status=ReservationStatus(data["status"]),
            lines=[line(raw) for raw in data["lines"]],
            expires_at=datetime.fromisoformat(data["expires_at"]),
            created_at=datetime.fromisoformat(data["created_at"]),
            channel_connection_id=data["channel_connection_id"],
        )


@dataclass(frozen=True)
class ReserveLineInput:
    sku: str
    quantity: int
    location_code: str = ""


@dataclass(frozen=True)
class StockDemand:
    """A quantity to act on for one physical stock row (sku, location)."""

    sku: str
    location_id: str
    location_code: str
    quantity: int


# --------------------------------------------------------------------------- validation


def _sku_violation(field_name: str, sku: str) -> FieldViolation | None:
    if not sku or not sku.strip():
        return FieldViolation(field_name, "sku is required")
    if len(sku) > MAX_SKU_LENGTH:
        return FieldViolation(field_name, f"sku is longer than {MAX_SKU_LENGTH} characters")
    if sku != sku.strip():
        return FieldViolation(field_name, "sku has leading or trailing whitespace")
    if problem := identifier_problem(sku):
        return FieldViolation(field_name, f"sku {problem}")
    return None


def adjustment_violations(line: AdjustmentLine, prefix: str = "line") -> list[FieldViolation]:
    """Everything wrong with one adjustment line that can be told without the database."""
    problems: list[FieldViolation] = []
    if sku_problem := _sku_violation(f"{prefix}.sku", line.sku):
        problems.append(sku_problem)
    if line.reason is None:
        problems.append(FieldViolation(f"{prefix}.reason", "reason is required"))
    if line.delta is None and line.set is None:
        problems.append(FieldViolation(f"{prefix}.change", "one of delta or set is required"))
    if line.delta is not None and (line.delta == 0 or abs(line.delta) > MAX_QUANTITY):
        problems.append(
            FieldViolation(f"{prefix}.delta", f"delta must be non-zero and within ±{MAX_QUANTITY}")
        )
    if line.set is not None and not 0 <= line.set <= MAX_QUANTITY:
        problems.append(FieldViolation(f"{prefix}.set", f"set must be between 0 and {MAX_QUANTITY}"))
    if len(line.note) > 2000:
        problems.append(FieldViolation(f"{prefix}.note", "note is longer than 2000 characters"))
    if len(line.reference) > MAX_TEXT_LENGTH:
        problems.append(FieldViolation(f"{prefix}.reference", f"reference is longer than {MAX_TEXT_LENGTH}"))
    return problems


def validate_batch_size(count: int, maximum: int) -> None:
    if count == 0:
        raise InvalidArgument("at least one line is required", violations=[FieldViolation("lines", "empty")])
    if count > maximum:
        raise InvalidArgument(
            f"at most {maximum} lines per batch",
            violations=[FieldViolation("lines", f"{count} lines; the maximum is {maximum}")],
        )


def apply_adjustment(on_hand: int, reserved: int, line: AdjustmentLine) -> int:
    """The new on_hand after `line`, refusing anything that would eat into held stock.

    Raises FailedPrecondition when the result would be negative or below what is reserved:
    reserved units are promised to orders and only commit/release may reduce them.
    """
    new_on_hand = line.set if line.set is not None else on_hand + (line.delta or 0)
    if new_on_hand < 0:
        raise FailedPrecondition(
            f"on_hand of {line.sku} would become {new_on_hand}", reason="NEGATIVE_ON_HAND"
        )
    if new_on_hand < reserved:
        raise FailedPrecondition(
            f"on_hand of {line.sku} would become {new_on_hand}, below the {reserved} units reserved",
            reason="BELOW_RESERVED",
        )
    if new_on_hand > MAX_QUANTITY:
        raise FailedPrecondition(f"on_hand of {line.sku} would exceed {MAX_QUANTITY}", reason="TOO_LARGE")
    return new_on_hand


def validate_reserve(
    order_ref: str, lines: Sequence[ReserveLineInput], ttl_seconds: int, max_ttl_seconds: int, max_lines: int
) -> None:
    problems: list[FieldViolation] = []
    if not order_ref:
        problems.append(FieldViolation("order_ref", "order_ref is required"))
    elif len(order_ref) > MAX_TEXT_LENGTH:
        problems.append(FieldViolation("order_ref", f"order_ref is longer than {MAX_TEXT_LENGTH}"))
    if not lines:
        problems.append(FieldViolation("lines", "at least one line is required"))
    if len(lines) > max_lines:
        problems.append(FieldViolation("lines", f"at most {max_lines} lines"))
    if not 0 <= ttl_seconds <= max_ttl_seconds:
        problems.append(FieldViolation("ttl_seconds", f"ttl_seconds must be between 0 and {max_ttl_seconds}"))
    for i, line in enumerate(lines):
        if sku_problem := _sku_violation(f"lines[{i}].sku", line.sku):
            problems.append(sku_problem)
        if not 1 <= line.quantity <= MAX_QUANTITY:
            problems.append(FieldViolation(f"lines[{i}].quantity", "quantity must be at least 1"))
    if problems:
        raise InvalidArgument("invalid reservation request", violations=problems)


def validate_idempotency_key(key: str) -> None:
    if len(key) > MAX_TEXT_LENGTH:
        raise InvalidArgument(
            "idempotency_key is too long",
            violations=[FieldViolation("idempotency_key", f"at most {MAX_TEXT_LENGTH} characters")],
        )


def validate_location(code: str, name: str) -> None:
    problems: list[FieldViolation] = []
    if not code or len(code) > 64 or code != code.strip():
        problems.append(FieldViolation("code", "code is required (1-64 characters, no outer spaces)"))
    elif problem := identifier_problem(code):
        problems.append(FieldViolation("code", f"code {problem}"))
    if len(name) > 200:
        problems.append(FieldViolation("name", "name is longer than 200 characters"))
    if problems:
        raise InvalidArgument("invalid location", violations=problems)


def validate_threshold(threshold: int, field_name: str = "threshold") -> None:
    if not 0 <= threshold <= MAX_QUANTITY:
        raise InvalidArgument(
            "invalid threshold", violations=[FieldViolation(field_name, "threshold must be >= 0")]
        )


def validate_allocation_rule(rule: AllocationRule) -> None:
    problems: list[FieldViolation] = []
    if not rule.connection_id or len(rule.connection_id) > 64:
        problems.append(FieldViolation("rule.connection_id", "connection_id is required (at most 64 chars)"))
    if len(rule.channel) > 64:
        problems.append(FieldViolation("rule.channel", "channel is longer than 64 characters"))
    if not 0 <= rule.buffer <= MAX_QUANTITY:
        problems.append(FieldViolation("rule.buffer", "buffer must be >= 0"))
    if rule.max_quantity is not None and not 0 <= rule.max_quantity <= MAX_QUANTITY:
        problems.append(FieldViolation("rule.max_quantity", "max_quantity must be >= 0"))
    if rule.percentage is not None and not 0 <= rule.percentage <= 100:
        problems.append(FieldViolation("rule.percentage", "percentage must be between 0 and 100"))
    if rule.measured_sync_latency_ms < 0:
        problems.append(FieldViolation("rule.measured_sync_latency_ms", "latency must be >= 0"))
    if problems:
        raise InvalidArgument("invalid allocation rule", violations=problems)


def validate_bundle(
    sku: str, components: Sequence[BundleComponent], component_bundles: Iterable[str], sku_is_component: bool
) -> None:
    """A bundle is one level deep: its components are plain SKUs and it is nobody's component.

    `component_bundles` are the components that are bundles themselves; `sku_is_component`
    tells whether `sku` is already a component of another bundle.
    """
    problems: list[FieldViolation] = []
    if sku_problem := _sku_violation("sku", sku):
        problems.append(sku_problem)
    if not components:
        problems.append(FieldViolation("components", "a bundle needs at least one component"))
    seen: set[str] = set()
    for i, comp in enumerate(components):
        if sku_problem := _sku_violation(f"components[{i}].sku", comp.sku):
            problems.append(sku_problem)
        if comp.sku == sku:
            problems.append(FieldViolation(f"components[{i}].sku", "a bundle cannot contain itself"))
        if comp.sku in seen:
            problems.append(FieldViolation(f"components[{i}].sku", "component listed twice"))
        seen.add(comp.sku)
        if not 1 <= comp.quantity <= MAX_QUANTITY:
            problems.append(FieldViolation(f"components[{i}].quantity", "quantity must be at least 1"))
    for nested in sorted(set(component_bundles)):
        problems.append(FieldViolation("components", f"{nested} is a bundle; bundles cannot be nested"))
    if sku_is_component:
        problems.append(FieldViolation("sku", f"{sku} is a component of another bundle"))
    if problems:
        raise InvalidArgument("invalid bundle", violations=problems)


# --------------------------------------------------------------------------- availability


def bundle_available(components: Sequence[BundleComponent], available: Mapping[str, int]) -> int:
    """How many whole bundles the components allow: min(component available // quantity)."""
    if not components:
        return 0
    return max(0, min(max(available.get(c.sku, 0), 0) // c.quantity for c in components))


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
    totals: Mapping[str, tuple[int, int]],
    rules: Sequence[AllocationRule],
    sales: Mapping[tuple[str, str], int],
) -> tuple[dict[str, SkuSnapshot], dict[str, int]]:
    """Figures of `skus` from rows already read: (snapshots, available per plain SKU read).

    totals: (on_hand, reserved) over all locations of every plain SKU and bundle component;
    definitions: the bundles among `skus`; sales: units per (sku, connection) in the window.
    Pure, so the generic path and the PostgreSQL fast path build identical events.
    """
    available = {sku: on_hand - reserved for sku, (on_hand, reserved) in totals.items()}
    per_sku_sales: dict[str, dict[str, int]] = defaultdict(dict)
    for (sku, connection), units in sales.items():
        per_sku_sales[sku][connection] = units
    out: dict[str, SkuSnapshot] = {}
    for sku in sorted(set(skus)):
        comps = definitions.get(sku)
        if comps:
            on_hand = bundle_available(comps, {c.sku: totals.get(c.sku, (0, 0))[0] for c in comps})
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
    totals: Mapping[str, tuple[int, int]],
    rules: Sequence[AllocationRule],
    sales: Mapping[tuple[str, str], int],
    available_delta: Mapping[str, int],
    *,
    new_thresholds: Mapping[str, int] | None = None,
    previous_default: int | None = None,
) -> PublishPlan:
    """Snapshots and alert transitions from figures read AFTER the change (under the SKU locks).

    available_delta is this transaction's change of available per plain SKU, so the figure
    before it is known without a second read (alerts fire on crossings only).
    """
    new_thresholds = new_thresholds or {}
    was_default = default_threshold if previous_default is None else previous_default
    thresholds: dict[str, int] = {}
    was_thresholds: dict[str, int] = {}
    for sku, (_version, own, _alert) in states.items():
        was_thresholds[sku] = own if own is not None else was_default
        thresholds[sku] = new_thresholds.get(sku, own if own is not None else default_threshold)
    versions = {sku: state[0] for sku, state in states.items()}
    snapshots, available = sku_snapshots(skus, versions, thresholds, definitions, totals, rules, sales)
    before = {sku: value - available_delta.get(sku, 0) for sku, value in available.items()}
    opens: list[tuple[str, int, int]] = []
    closes: list[tuple[str, str]] = []
    for sku, snap in snapshots.items():
        comps = definitions.get(sku)
        if comps:
            was_available = bundle_available(comps, before)
        else:
            was_available = snap.available - available_delta.get(sku, 0)
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


# --------------------------------------------------------------------------- reservations


@dataclass(frozen=True)
class ResolvedLine:
    """A reservation input line with its location resolved and its bundle definition, if any."""

    sku: str
    quantity: int
    location_id: str
    location_code: str
    components: tuple[BundleComponent, ...] = ()


def plan_reservation(lines: Sequence[ResolvedLine]) -> tuple[list[ReservationLine], list[StockDemand]]:
    """Turn input lines into reservation lines and the merged, ordered stock demands.

    Bundle lines expand into component demands; demands on the same (sku, location) are
    summed, so two lines sharing a component are checked against their combined need. The
    demands come back sorted by (sku, location_id): the fixed lock order of every writer.
    """
    out_lines: list[ReservationLine] = []
    merged: dict[tuple[str, str], int] = defaultdict(int)
    codes: dict[str, str] = {}
    line_no = 0
    for line in lines:
        line_no += 1
        top = ReservationLine(line_no, line.sku, line.location_id, line.location_code, line.quantity)
        codes[line.location_id] = line.location_code
        for comp in line.components:
            line_no += 1
            quantity = line.quantity * comp.quantity
            top.components.append(
                ReservationLine(
                    line_no,
                    comp.sku,
                    line.location_id,
                    line.location_code,
                    quantity,
                    per_unit=comp.quantity,
                    parent_line_no=top.line_no,
                )
            )
            merged[(comp.sku, line.location_id)] += quantity
        if not line.components:
            merged[(line.sku, line.location_id)] += line.quantity
        out_lines.append(top)
    demands = [StockDemand(sku, loc, codes[loc], qty) for (sku, loc), qty in sorted(merged.items())]
    return out_lines, demands


@dataclass(frozen=True)
class HoldDecision:
    """One request of a group: held (no shorts; `after` = the row's (on_hand, reserved) after
    each of its demands, for the ledger) or refused (its short demands, each with the
    available figure it saw)."""

    shorts: list[tuple[StockDemand, int]]
    after: list[tuple[int, int]]

    @property
    def held(self) -> bool:
        return not self.shorts


def allocate_holds(
    requests: Sequence[Sequence[StockDemand]], levels: Mapping[tuple[str, str], tuple[int, int]]
) -> tuple[list[HoldDecision], dict[tuple[str, str], tuple[int, int]]]:
    """Decide a group of reservations against locked stock rows, in order, each all-or-nothing.

    levels: (on_hand, reserved) per (sku, location_id) as locked; a missing row has nothing
    available. A request is held only if every one of its demands fits what the requests
    before it left. Returns one decision per request and the levels after the held ones: the
    same answers as running the requests one after another, each in its own transaction.
    """
    levels_after = dict(levels)
    decisions: list[HoldDecision] = []
    for demands in requests:
        shorts: list[tuple[StockDemand, int]] = []
        for demand in demands:
            on_hand, reserved = levels_after.get((demand.sku, demand.location_id), (0, 0))
            if on_hand - reserved < demand.quantity:
                shorts.append((demand, on_hand - reserved))
        after: list[tuple[int, int]] = []
        if not shorts:
            for demand in demands:
                key = (demand.sku, demand.location_id)
                on_hand, reserved = levels_after[key]
                levels_after[key] = (on_hand, reserved + demand.quantity)
                after.append(levels_after[key])
        decisions.append(HoldDecision(shorts, after))
    return decisions, levels_after


def plan_commit(reservation: Reservation, requested: Sequence[tuple[str, int]]) -> dict[int, int]:
    """Units to commit per top-level line number.

    Empty `requested` commits everything still held. Otherwise each (sku, quantity) is spread
    over that SKU's lines in line order; more than is still held is refused.
    """
    if reservation.status not in HOLDING_STATUSES:
        raise FailedPrecondition(
            f"reservation {reservation.id} is {reservation.status.value}; nothing is held",
            reason="RESERVATION_NOT_HELD",
        )
    if not requested:
        return {line.line_no: line.held for line in reservation.lines if line.held > 0}
    wanted: dict[str, int] = defaultdict(int)
    problems = []
    for i, (sku, quantity) in enumerate(requested):
        if quantity <= 0:
            problems.append(FieldViolation(f"lines[{i}].quantity", "quantity must be at least 1"))
        wanted[sku] += quantity
    if problems:
        raise InvalidArgument("invalid commit lines", violations=problems)
    plan: dict[int, int] = {}
    for sku, quantity in wanted.items():
        lines = [line for line in reservation.lines if line.sku == sku]
        if not lines:
            raise FailedPrecondition(
                f"{sku} is not part of reservation {reservation.id}", reason="UNKNOWN_LINE"
            )
        held = sum(line.held for line in lines)
        if quantity > held:
            raise FailedPrecondition(
                f"cannot commit {quantity} of {sku}: only {held} still held", reason="OVER_COMMIT"
            )
        remaining = quantity
        for line in lines:
            take = min(line.held, remaining)
            if take:
                plan[line.line_no] = take
                remaining -= take
    return plan


def settle(reservation: Reservation, plan: Mapping[int, int], *, commit: bool) -> list[StockDemand]:
    """Mark planned units committed (or released) on the lines and return the stock rows to touch.

    A bundle line settles its components proportionally. The demands are merged per
    (sku, location) and sorted: the same lock order as Reserve.
    """
    merged: dict[tuple[str, str], int] = defaultdict(int)
    codes: dict[str, str] = {}
    for line in reservation.lines:
        units = plan.get(line.line_no, 0)
        if units <= 0:
            continue
        physical = line.components or [line]
        _bump(line, units, commit)
        for row in physical:
            quantity = units * row.per_unit if line.components else units
            if line.components:
                _bump(row, quantity, commit)
            merged[(row.sku, row.location_id)] += quantity
            codes[row.location_id] = row.location_code
    return [StockDemand(sku, loc, codes[loc], qty) for (sku, loc), qty in sorted(merged.items())]


def _bump(line: ReservationLine, units: int, commit: bool) -> None:
    if units > line.held:
        raise FailedPrecondition(f"line {line.line_no} holds only {line.held}", reason="OVER_SETTLE")
    if commit:
        line.committed += units
    else:
        line.released += units


def status_after_commit(reservation: Reservation) -> ReservationStatus:
    return ReservationStatus.PARTIALLY_COMMITTED if reservation.held > 0 else ReservationStatus.COMMITTED


def release_plan(reservation: Reservation) -> dict[int, int]:
    """Everything still held, per top-level line (release and expiry)."""
    return {line.line_no: line.held for line in reservation.lines if line.held > 0}


# --------------------------------------------------------------------------- pagination


def encode_cursor(key: Sequence[Any]) -> str:
    """Opaque keyset cursor: base64 of the last row's sort key."""
    return base64.urlsafe_b64encode(json.dumps(list(key), default=str).encode()).decode()


def decode_cursor(cursor: str, arity: int) -> list[Any] | None:
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, binascii.Error) as exc:
        raise InvalidArgument(
            "invalid cursor", violations=[FieldViolation("page.cursor", "malformed")]
        ) from exc
    if not isinstance(key, list) or len(key) != arity:
        raise InvalidArgument("invalid cursor", violations=[FieldViolation("page.cursor", "malformed")])
    return key


def page_limit(limit: int) -> int:
    """limit default 50, max 500 (docs/development.md)."""
    if limit < 0:
        raise InvalidArgument("invalid limit", violations=[FieldViolation("page.limit", "must be >= 0")])
    return 50 if limit == 0 else min(limit, 500)


def parse_time(raw: str) -> datetime:
    value = datetime.fromisoformat(raw)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
