"""Timed sales: which transition is due when, including a window that passed unseen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from omnistock_common.errors import InvalidArgument
from pricing.domain.sales import SaleState, TimedSale, Transition, check_window, due_transition

START = datetime(2026, 12, 24, 0, 0, tzinfo=UTC)
END = START + timedelta(days=2)
SALE = TimedSale("s1", "MUG", "shopify-1", 7900, "USD", START, END)


@pytest.mark.parametrize(
    ("state", "now", "due"),
    [
        (SaleState.SCHEDULED, START - timedelta(seconds=1), None),
        (SaleState.SCHEDULED, START, Transition.START),
        (SaleState.ACTIVE, END - timedelta(seconds=1), None),
        (SaleState.ACTIVE, END, Transition.END),
        (SaleState.SCHEDULED, END + timedelta(hours=1), Transition.EXPIRE),
        (SaleState.ENDED, END + timedelta(days=9), None),
    ],
)
def test_the_due_transition(state: SaleState, now: datetime, due: Transition | None) -> None:
    sale = TimedSale(**{**SALE.__dict__, "state": state})
    assert due_transition(sale, now) is due


def test_a_window_needs_an_offset_and_an_end_after_its_start() -> None:
    with pytest.raises(InvalidArgument, match="end after"):
        check_window(END, START)
    with pytest.raises(InvalidArgument, match="time zone"):
        check_window(START.replace(tzinfo=None), END)
