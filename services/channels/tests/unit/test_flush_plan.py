"""flusher._plan (pure): the quantity a flush pushes per SKU: inventory's figure less the
in-flight commitments, never below 0, and 0 for a listing whose product is archived on the
connection (off_sale), whatever inventory says."""

from __future__ import annotations

from channels.sync.flusher import _plan
from channels.sync.repository import ListingPushState
from channels.sync.store import Pending


def _pending(sku: str, figure: int) -> Pending:
    return Pending(sku, f"{figure}|1", figure, 1, 0)


def test_the_figure_less_commitments_and_zero_for_an_off_sale_listing() -> None:
    listings = {
        "ON": ListingPushState({"id": "1"}, 3, 1),
        "OFF": ListingPushState({"id": "2"}, 3, 1, off_sale=True),
        "NEW": ListingPushState({"id": "3"}, None, None),
    }
    plan = {p.sku: p for p in _plan([_pending(s, 9) for s in listings], listings, {"ON": 2, "NEW": 12})}
    assert {sku: p.quantity for sku, p in plan.items()} == {"ON": 7, "OFF": 0, "NEW": 0}
    # An increase (held back while other channels' orders are not current) only where it rises.
    assert {sku: p.increase for sku, p in plan.items()} == {"ON": True, "OFF": False, "NEW": True}
