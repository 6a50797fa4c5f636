"""The per-listing revision budget: pure decisions, and a day of 1,000 changes to one listing."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from ebay_connector import protocol as p
from ebay_connector.pushing import Budget, push_prices, push_quantities
from ebay_connector.revisions import MemoryRevisionLedger

NOW = datetime(2026, 12, 6, 19, 0, tzinfo=UTC)  # 11:00 in Los Angeles
RESETS = p.day_resets_at(NOW)


def test_the_ebay_day_is_pacific() -> None:
    assert p.ebay_day(datetime(2026, 12, 7, 7, 59, tzinfo=UTC)) == "2026-12-06"
    assert p.ebay_day(datetime(2026, 12, 7, 8, 0, tzinfo=UTC)) == "2026-12-07"
    assert datetime(2026, 12, 7, 8, 0, tzinfo=UTC) == RESETS


@pytest.mark.parametrize(
    ("change", "spent", "verdict"),
    [
        (p.Change.DECREASE, 0, p.Verdict.SEND),
        (p.Change.INCREASE, 0, p.Verdict.SEND),
        (p.Change.INCREASE, 199, p.Verdict.SEND),  # 51 left
        (p.Change.INCREASE, 200, p.Verdict.DEFER),  # 50 left: the reserve
        (p.Change.PRICE, 200, p.Verdict.DEFER),
        (p.Change.DECREASE, 200, p.Verdict.SEND),
        (p.Change.DECREASE, 248, p.Verdict.SEND),
        (p.Change.DECREASE, 249, p.Verdict.PARK),  # the last revision sets 0
        (p.Change.DECREASE, 250, p.Verdict.CAPPED),
        (p.Change.INCREASE, 250, p.Verdict.CAPPED),
    ],
)
def test_decide(change: p.Change, spent: int, verdict: p.Verdict) -> None:
    decision = p.decide(change, spent, reserve=50, resets_at=RESETS)
    assert decision.verdict is verdict
    if verdict is p.Verdict.DEFER:
        assert decision.message.startswith("revision budget low:")
        assert RESETS.isoformat() in decision.message


def test_without_a_reserve_the_last_revision_is_still_kept_for_a_decrease() -> None:
    assert p.decide(p.Change.INCREASE, 249, reserve=0, resets_at=RESETS).verdict is p.Verdict.DEFER
    assert p.decide(p.Change.INCREASE, 248, reserve=0, resets_at=RESETS).verdict is p.Verdict.SEND


def test_an_unknown_channel_figure_counts_as_a_decrease() -> None:
    assert p.classify_quantity(5, None) is p.Change.DECREASE
    assert p.classify_quantity(4, 5) is p.Change.DECREASE
    assert p.classify_quantity(5, 5) is p.Change.INCREASE
    assert p.classify_quantity(6, 5) is p.Change.INCREASE


@pytest.mark.parametrize("seed", range(5))
def test_a_thousand_changes_in_a_day_never_overshow_and_never_pass_the_cap(seed: int) -> None:
    """Pure decisions only: OmniStock's figure moves 1,000 times (sales, restocks, corrections);
    the channel takes a figure only when a revision is spent."""
    rng = random.Random(seed)
    omnistock, channel, last_sent, spent = 40, 40, 40, 0
    for _ in range(1000):
        omnistock = max(0, omnistock + rng.choice([-3, -2, -1, -1, 1, 2, 5]))
        decision = p.decide(p.classify_quantity(omnistock, last_sent), spent, reserve=50, resets_at=RESETS)
        if decision.verdict is p.Verdict.SEND:
            channel = last_sent = omnistock
            spent += 1
        elif decision.verdict is p.Verdict.PARK:
            channel = last_sent = 0
            spent += 1
        assert channel <= omnistock
        assert spent <= p.DAILY_REVISIONS
    # Everything went until the reserve; after it, decreases only.
    assert p.DAILY_REVISIONS - 50 <= spent <= p.DAILY_REVISIONS


def test_a_day_of_sales_parks_the_listing_at_zero_with_its_last_revision() -> None:
    omnistock, channel, last_sent, spent = 400, 400, 400, 0
    verdicts: list[p.Verdict] = []
    for _ in range(300):
        omnistock -= 1
        decision = p.decide(p.classify_quantity(omnistock, last_sent), spent, reserve=50, resets_at=RESETS)
        verdicts.append(decision.verdict)
        if decision.verdict is p.Verdict.SEND:
            channel = last_sent = omnistock
            spent += 1
        elif decision.verdict is p.Verdict.PARK:
            channel = last_sent = 0
            spent += 1
        assert channel <= omnistock
    assert verdicts[:249] == [p.Verdict.SEND] * 249
    assert verdicts[249] is p.Verdict.PARK
    assert set(verdicts[250:]) == {p.Verdict.CAPPED}
    assert (spent, channel) == (p.DAILY_REVISIONS, 0)


class FakeEbay:
    """bulkUpdatePriceQuantity as eBay answers it; records what the listing shows."""

    def __init__(self) -> None:
        self.calls: list[list[Mapping[str, Any]]] = []
        self.shown: dict[str, int] = {}
        self.prices: dict[str, str] = {}

    def bulk_update(self, entries: Sequence[Mapping[str, Any]]) -> list[Any]:
        assert len(entries) <= p.MAX_BULK_REQUESTS
        self.calls.append(list(entries))
        out = []
        for entry in entries:
            if "shipToLocationAvailability" in entry:
                self.shown[entry["sku"]] = entry["shipToLocationAvailability"]["quantity"]
            for offer in entry.get("offers") or []:
                if "price" in offer:
                    self.prices[offer["offerId"]] = offer["price"]["value"]
                out.append({"statusCode": 200, "sku": entry.get("sku", ""), "offerId": offer["offerId"]})
            if not entry.get("offers"):
                out.append({"statusCode": 200, "sku": entry["sku"]})
        return out


def test_pushes_through_the_ledger_keep_the_listing_honest_all_day() -> None:
    ledger, ebay = MemoryRevisionLedger(), FakeEbay()
    ids = {"sku": "MUG", "offer_id": "5001", "listing_id": "110001"}
    rng = random.Random(7)
    omnistock = 30
    outcomes: dict[p.Outcome, int] = {}
    for _ in range(1000):
        omnistock = max(0, omnistock + rng.choice([-2, -1, -1, 1, 3]))
        budget = Budget(ledger, "conn-1", NOW, 50)
        (result,) = push_quantities(ebay, budget, [p.InventoryInput("MUG", omnistock, ids)])  # type: ignore[arg-type]
        outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
        assert ebay.shown.get("MUG", 0) <= omnistock
    spent = ledger.spent("conn-1", p.ebay_day(NOW), "110001")
    assert len(ebay.calls) == spent and 200 <= spent <= p.DAILY_REVISIONS
    assert outcomes[p.Outcome.RETRY] == 1000 - outcomes[p.Outcome.APPLIED]
    limits = budget.limits()
    assert limits["revisions_left_lowest"] == str(p.DAILY_REVISIONS - spent)
    assert limits["listings_at_reserve"] == "1"


def test_the_last_revision_sends_zero_and_then_nothing_goes() -> None:
    ledger, ebay = MemoryRevisionLedger(), FakeEbay()
    day = p.ebay_day(NOW)
    for _ in range(249):
        ledger.take("conn-1", day, "L1")
    ids = {"offer_id": "O1", "listing_id": "L1"}
    (parked,) = push_quantities(ebay, Budget(ledger, "conn-1", NOW, 50), [p.InventoryInput("A", 7, ids)])  # type: ignore[arg-type]
    assert parked.outcome is p.Outcome.RETRY and "held at 0" in parked.message
    assert ebay.shown["A"] == 0 and ebay.calls[0][0]["offers"] == [{"offerId": "O1", "availableQuantity": 0}]
    (capped,) = push_quantities(ebay, Budget(ledger, "conn-1", NOW, 50), [p.InventoryInput("A", 2, ids)])  # type: ignore[arg-type]
    assert capped.outcome is p.Outcome.RETRY and "revision cap reached" in capped.message
    assert len(ebay.calls) == 1 and ledger.spent("conn-1", day, "L1") == 250


def test_a_deferred_increase_makes_no_call_and_says_until_when() -> None:
    ledger, ebay = MemoryRevisionLedger(), FakeEbay()
    day = p.ebay_day(NOW)
    for _ in range(200):
        ledger.take("conn-1", day, "L1")
    ledger.set_last_quantity("conn-1", "L1", 5)
    budget = Budget(ledger, "conn-1", NOW, 50)
    ids = {"offer_id": "O1", "listing_id": "L1"}
    (up,) = push_quantities(ebay, budget, [p.InventoryInput("A", 9, ids)])  # type: ignore[arg-type]
    assert up.outcome is p.Outcome.RETRY and "increase deferred until" in up.message
    assert ebay.calls == []
    (price,) = push_prices(ebay, budget, [p.PriceInput("A", p.Amount(1999, "USD"), ids=ids)], currency="USD")  # type: ignore[arg-type]
    assert price.outcome is p.Outcome.RETRY and "price change deferred" in price.message
    (down,) = push_quantities(ebay, budget, [p.InventoryInput("A", 3, ids)])  # type: ignore[arg-type]
    assert down.outcome is p.Outcome.APPLIED and ebay.shown["A"] == 3
    assert ledger.spent("conn-1", day, "L1") == 201
    assert budget.limits()["revisions_left_lowest"] == "49"


def test_a_refused_item_gives_its_revision_back() -> None:
    class Refusing(FakeEbay):
        def bulk_update(self, entries: Sequence[Mapping[str, Any]]) -> list[Any]:
            self.calls.append(list(entries))
            return [
                {"statusCode": 400, "sku": "A", "errors": [{"errorId": 25709, "message": "Invalid value"}]}
            ]

    ledger = MemoryRevisionLedger()
    budget = Budget(ledger, "conn-1", NOW, 50)
    (result,) = push_quantities(Refusing(), budget, [p.InventoryInput("A", 3, {"listing_id": "L1"})])  # type: ignore[arg-type]
    assert result.outcome is p.Outcome.REJECTED and "25709" in result.message
    assert ledger.spent("conn-1", p.ebay_day(NOW), "L1") == 0
