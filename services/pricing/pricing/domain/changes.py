"""Bulk price changes: one rule over many prices, previewed before it is applied.

A preview lists before/after per (SKU, connection) and carries a fingerprint of the `before`
figures it was computed from. Applying refers to the preview; the service recomputes the
fingerprint from the prices as they are then, and refuses (409) when any of them changed since, so
the merchant never applies something other than what they were shown.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from omnistock_common.errors import FieldViolation, InvalidArgument
from omnistock_common.money import MAX_MINOR
from pricing.domain.rounding import Rounding, check_rounding, finish

# A percent change is bounded so that one typo (1000 instead of 10) cannot price a catalogue at zero
# or at eleven times its value.
MIN_PERCENT = Decimal(-90)
MAX_PERCENT = Decimal(500)


@dataclass(frozen=True)
class PercentChange:
    percent: Decimal


@dataclass(frozen=True)
class AmountChange:
    amount_minor: int
    currency: str


Change = PercentChange | AmountChange


@dataclass(frozen=True)
class PriceRow:
    """A price as stored: what a preview reads and an apply writes."""

    sku: str
    connection_id: str
    amount_minor: int
    currency: str
    floor_minor: int | None = None


@dataclass(frozen=True)
class PreviewItem:
    sku: str
    connection_id: str
    currency: str
    before_minor: int
    after_minor: int


@dataclass(frozen=True)
class Preview:
    items: tuple[PreviewItem, ...]
    fingerprint: str

    @property
    def count(self) -> int:
        return len(self.items)


def check_change(change: Change) -> None:
    if isinstance(change, PercentChange):
        if not (MIN_PERCENT <= change.percent <= MAX_PERCENT) or change.percent == 0:
            raise InvalidArgument(
                f"percent {change.percent} is out of range",
                violations=[
                    FieldViolation("change.percent", f"between {MIN_PERCENT} and {MAX_PERCENT}, not 0")
                ],
            )
    elif change.amount_minor == 0:
        raise InvalidArgument(
            "an amount change of 0 changes nothing", violations=[FieldViolation("change.amount", "not 0")]
        )


def changed_price(row: PriceRow, change: Change, rounding: Rounding) -> int:
    """The price `row` gets from `change`, then `rounding`, then its floor."""
    if isinstance(change, PercentChange):
        factor = 1 + change.percent / 100
        raw = int((Decimal(row.amount_minor) * factor).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    else:
        if change.currency != row.currency:
            raise InvalidArgument(
                f"{row.sku} is priced in {row.currency}, the change is in {change.currency}",
                violations=[FieldViolation("change.amount.currency", f"use {row.currency} for this filter")],
            )
        raw = row.amount_minor + change.amount_minor
    after = finish(raw, row.currency, rounding, row.floor_minor)
    if after > MAX_MINOR:
        raise InvalidArgument(
            f"{row.sku} would be priced beyond the largest amount",
            violations=[FieldViolation("change", "too large")],
        )
    return after


def fingerprint(rows: Iterable[PriceRow]) -> str:
    """A digest of the `before` figures (order-independent)."""
    digest = hashlib.sha256()
    for row in sorted(rows, key=lambda r: (r.connection_id, r.sku)):
        digest.update(
            f"{row.connection_id}\x1f{row.sku}\x1f{row.amount_minor}\x1f{row.currency}\x1e".encode()
        )
    return digest.hexdigest()


def preview(rows: Sequence[PriceRow], change: Change, rounding: Rounding) -> Preview:
    """Before/after for every row; every problem (e.g. a rounding JPY cannot take) raised at once."""
    check_change(change)
    violations: list[FieldViolation] = []
    items: list[PreviewItem] = []
    for row in rows:
        try:
            check_rounding(rounding, row.currency)
            after = changed_price(row, change, rounding)
        except InvalidArgument as error:
            violations.extend(
                FieldViolation(f"{row.connection_id}/{row.sku}", v.message) for v in error.violations
            )
            continue
        items.append(PreviewItem(row.sku, row.connection_id, row.currency, row.amount_minor, after))
    if violations:
        raise InvalidArgument(
            "the change cannot be applied to every price; nothing was changed", violations=violations
        )
    return Preview(tuple(items), fingerprint(rows))
