"""Reservation rules: demands of a reservation, decisions of a group, commits and releases."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace

from inventory.domain.model import (
    HOLDING_STATUSES,
    BundleComponent,
    LineShortfall,
    Reservation,
    ReservationLine,
    ReservationStatus,
    StockDemand,
)
from omnistock_common.errors import FailedPrecondition, FieldViolation, InvalidArgument

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
    # A line fitted down to 0 (allow_shortfall) demands nothing: no row is touched for it.
    demands = [
        StockDemand(sku, loc, codes[loc], qty) for (sku, loc), qty in sorted(merged.items()) if qty > 0
    ]
    return out_lines, demands


@dataclass(frozen=True)
class HoldDecision:
    """One request of a group: held (no shorts; `after` = the row's (on_hand, reserved) after
    each of `demands`, for the ledger) or refused (its short demands, each with the available
    figure it saw). A request fitted to the stock (allow_shortfall) is always held: `lines` are
    its reservation lines with the quantities actually held and `demands` what they hold."""

    shorts: list[tuple[StockDemand, int]]
    after: list[tuple[int, int]]
    demands: list[StockDemand] = field(default_factory=list)
    lines: list[ReservationLine] | None = None

    @property
    def held(self) -> bool:
        return not self.shorts


Levels = Mapping[tuple[str, str], tuple[int, int]]


def fit_lines(lines: Sequence[ResolvedLine], levels: Levels) -> list[ResolvedLine]:
    """The lines with each quantity cut to what is still available (possibly 0), in line order.

    A bundle line holds as many bundles as its scarcest component allows. Earlier lines of the
    request are served first, so two lines on one SKU together never exceed what is there.
    """
    left: dict[tuple[str, str], int] = {}

    def available(key: tuple[str, str]) -> int:
        if key not in left:
            on_hand, reserved = levels.get(key, (0, 0))
            left[key] = max(0, on_hand - reserved)
        return left[key]

    fitted: list[ResolvedLine] = []
    for line in lines:
        if line.components:
            take = min(
                [line.quantity]
                + [available((c.sku, line.location_id)) // c.quantity for c in line.components]
            )
            for c in line.components:
                left[(c.sku, line.location_id)] -= take * c.quantity
        else:
            key = (line.sku, line.location_id)
            take = min(line.quantity, available(key))
            left[key] -= take
        fitted.append(replace(line, quantity=take))
    return fitted


def allocate_holds(
    requests: Sequence[Sequence[StockDemand]],
    levels: Levels,
    *,
    fitted: Mapping[int, Sequence[ResolvedLine]] | None = None,
) -> tuple[list[HoldDecision], dict[tuple[str, str], tuple[int, int]]]:
    """Decide a group of reservations against locked stock rows, in order.

    levels: (on_hand, reserved) per (sku, location_id) as locked; a missing row has nothing
    available. A request is held only if every one of its demands fits what the requests
    before it left. Requests whose index is in `fitted` (allow_shortfall) are never refused:
    their lines are cut to what is left (fit_lines) and held. Returns one decision per request
    and the levels after the held ones: the same answers as running the requests one after
    another, each in its own transaction.
    """
    levels_after = dict(levels)
    decisions: list[HoldDecision] = []
    for index, demands in enumerate(requests):
        lines: list[ReservationLine] | None = None
        if fitted is not None and index in fitted:
            lines, demands = plan_reservation(fit_lines(fitted[index], levels_after))
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
        decisions.append(HoldDecision(shorts, after, list(demands), lines))
    return decisions, levels_after


def shortfalls(
    requested: Sequence[tuple[str, int]], reservation: Reservation, unknown: Collection[str] = ()
) -> list[LineShortfall]:
    """The requested (sku, quantity) lines that the reservation holds less of, in line order;
    `unknown` names the SKUs inventory has never stocked (see LineShortfall)."""
    out: list[LineShortfall] = []
    for (sku, quantity), line in zip(requested, reservation.lines, strict=False):
        if line.sku == sku and line.quantity < quantity:
            out.append(LineShortfall(sku, line.location_code, quantity, line.quantity, sku in unknown))
    return out


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


@dataclass(eq=False)
class InsufficientStock(FailedPrecondition):
    """A reservation refused for lack of stock: each short demand with the available figure it
    saw. The gRPC edge (mapping.py) adds the InsufficientStock status detail callers read."""

    shorts: list[tuple[StockDemand, int]] = field(default_factory=list)


def insufficient_stock(shorts: Sequence[tuple[StockDemand, int]]) -> InsufficientStock:
    names = ", ".join(demand.sku for demand, _ in shorts)
    return InsufficientStock(
        f"insufficient stock for {names}", reason="INSUFFICIENT_STOCK", shorts=list(shorts)
    )
