"""Quantity and price pushes under eBay's per-listing revision budget.

For each item: classify the change (protocol/budget.py), decide, count the revision in the ledger
(revisions.py) before sending, send in bulkUpdatePriceQuantity calls of ≤ 25, and give back every
counted revision eBay did not make (refused item, failed call). What the budget holds back is
answered RETRY with the reason and costs no call. `limits` report the budget of the listings this
push touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ebay_connector import protocol as p
from ebay_connector.client import EbayClient
from ebay_connector.revisions import RevisionLedger
from omnistock_common.errors import DomainError
from omnistock_connector_kit.channel_http import ChannelHttpError
from omnistock_connector_kit.connector_base import map_channel_error


@dataclass
class Budget:
    """One push's view of the ledger: the connection, the eBay day, the reserve."""

    ledger: RevisionLedger
    connection: str
    now: datetime
    reserve: int
    touched: dict[str, int] = field(default_factory=dict)

    @property
    def day(self) -> str:
        return p.ebay_day(self.now)

    @property
    def resets_at(self) -> datetime:
        return p.day_resets_at(self.now)

    def admit(self, listing: str, change: p.Change) -> p.Decision:
        """Decide, and count the revision when it goes. The decision is taken again on the count
        the ledger actually gave us (another replica may have spent one in between)."""
        spent = self.ledger.spent(self.connection, self.day, listing)
        decision = p.decide(change, spent, reserve=self.reserve, resets_at=self.resets_at)
        if decision.verdict in (p.Verdict.SEND, p.Verdict.PARK):
            total = self.ledger.take(self.connection, self.day, listing)
            counted = p.DAILY_REVISIONS if total is None else total - 1
            decision = p.decide(change, counted, reserve=self.reserve, resets_at=self.resets_at)
            if total is not None and decision.verdict not in (p.Verdict.SEND, p.Verdict.PARK):
                self.ledger.give_back(self.connection, self.day, listing)
        self.touched[listing] = self.ledger.spent(self.connection, self.day, listing)
        return decision

    def give_back(self, listing: str) -> None:
        self.ledger.give_back(self.connection, self.day, listing)
        self.touched[listing] = self.ledger.spent(self.connection, self.day, listing)

    def limits(self) -> dict[str, str]:
        return p.summarize(self.touched, reserve=self.reserve, resets_at=self.resets_at).limits()


@dataclass(frozen=True)
class _Pending:
    index: int
    sku: str
    offer_id: str
    listing: str
    entry: dict[str, Any]
    quantity: int | None
    # Set when the entry sends 0 instead of the figure (the day's last revision): applied, the
    # item is still RETRY with this message.
    parked: str = ""


def _send(
    client: EbayClient, budget: Budget, pending: Sequence[_Pending], results: list[p.ItemResult | None]
) -> None:
    applied_any = False
    chunks = p.chunked(list(pending), p.MAX_BULK_REQUESTS)
    for number, chunk in enumerate(chunks):
        try:
            responses = client.bulk_update([x.entry for x in chunk])
        except (ChannelHttpError, DomainError) as error:
            rest = [x for c in chunks[number:] for x in c]
            for x in rest:
                budget.give_back(x.listing)
            if not applied_any:
                if isinstance(error, ChannelHttpError):
                    raise map_channel_error(error) from error
                raise
            for x in rest:
                results[x.index] = p.ItemResult(x.sku, p.Outcome.RETRY, str(error))
            return
        for x in chunk:
            outcome, message = p.item_outcome(responses, sku=x.sku, offer_id=x.offer_id)
            if outcome is p.Outcome.APPLIED:
                applied_any = True
                if x.quantity is not None:
                    budget.ledger.set_last_quantity(budget.connection, x.listing, x.quantity)
                if x.parked:
                    outcome, message = p.Outcome.RETRY, x.parked
            else:
                budget.give_back(x.listing)
            results[x.index] = p.ItemResult(x.sku, outcome, message)


def push_quantities(
    client: EbayClient, budget: Budget, items: Sequence[p.InventoryInput]
) -> list[p.ItemResult]:
    results: list[p.ItemResult | None] = [None] * len(items)
    pending: list[_Pending] = []
    for index, item in enumerate(items):
        if not item.sku:
            results[index] = p.ItemResult(
                item.sku, p.Outcome.REJECTED, "an eBay inventory item needs its SKU"
            )
            continue
        quantity = max(0, item.quantity)
        last = budget.ledger.last_quantity(budget.connection, p.listing_key(item))
        decision = budget.admit(p.listing_key(item), p.classify_quantity(quantity, last))
        if decision.verdict is p.Verdict.PARK and quantity > 0:
            # The day's last revision shows 0: RETRY, so the real figure goes after the reset.
            request = p.quantity_request(p.InventoryInput(item.sku, 0, item.ids))
            pending.append(
                _Pending(index, item.sku, p.offer_id(item), p.listing_key(item), request, 0, decision.message)
            )
            continue
        if decision.verdict not in (p.Verdict.SEND, p.Verdict.PARK):
            results[index] = p.ItemResult(item.sku, p.Outcome.RETRY, decision.message)
            continue
        pending.append(
            _Pending(
                index, item.sku, p.offer_id(item), p.listing_key(item), p.quantity_request(item), quantity
            )
        )
    _send(client, budget, pending, results)
    return [r for r in results if r is not None]


def push_prices(
    client: EbayClient, budget: Budget, items: Sequence[p.PriceInput], *, currency: str
) -> list[p.ItemResult]:
    results: list[p.ItemResult | None] = [None] * len(items)
    pending: list[_Pending] = []
    for index, item in enumerate(items):
        if not p.offer_id(item):
            results[index] = p.ItemResult(
                item.sku, p.Outcome.REJECTED, "no eBay offer_id mapped for this SKU"
            )
            continue
        if currency and item.price.currency != currency:
            results[index] = p.ItemResult(
                item.sku,
                p.Outcome.REJECTED,
                f"price in {item.price.currency}, the marketplace sells in {currency}",
            )
            continue
        decision = budget.admit(p.listing_key(item), p.Change.PRICE)
        if decision.verdict is not p.Verdict.SEND:  # a price never takes the day's last revision
            results[index] = p.ItemResult(item.sku, p.Outcome.RETRY, decision.message)
            continue
        pending.append(
            _Pending(index, item.sku, p.offer_id(item), p.listing_key(item), p.price_request(item), None)
        )
    _send(client, budget, pending, results)
    return [r for r in results if r is not None]


def refresh_token_limits(expires_at: datetime | None, now: datetime) -> dict[str, str]:
    """refresh_token_days_left always (when known), and a warning under 30 days."""
    days = p.refresh_days_left(expires_at, now)
    if days is None:
        return {}
    out = {"refresh_token_days_left": str(days)}
    if days < p.REFRESH_WARNING_DAYS:
        out["refresh_token_warning"] = (
            f"eBay authorization ends in {days} days: the seller must authorize again"
        )
    return out
