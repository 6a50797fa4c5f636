"""The price a channel shows for (connection, SKU): an active timed sale, else the price set for
the connection, else the variant's base price converted (FX table, rounding, floor).

Base prices come from the catalog port, read BEFORE the transaction (no remote call holds a
database transaction open); everything else is read inside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from omnistock_common.context import CallContext
from pricing.domain.fx import FxTable
from pricing.domain.model import BasePrice, ConnectionSettings, StoredPrice
from pricing.domain.prices import derive
from pricing.domain.sales import TimedSale
from pricing.repository import Repository
from pricing.service.ports import PricingDeps

Pair = tuple[str, str]  # (connection_id, sku)


@dataclass(frozen=True)
class Effective:
    connection_id: str
    sku: str
    amount_minor: int
    currency: str
    compare_at_minor: int | None
    derived: bool
    # The price without the sale (what a bulk change and the history's "regular" figure use).
    regular_minor: int
    floor_minor: int | None = None
    on_sale: bool = False


@dataclass(frozen=True)
class Snapshot:
    """What one transaction read: the inputs of every pair's effective price."""

    stored: Mapping[Pair, StoredPrice]
    connections: Mapping[str, ConnectionSettings]
    fx: FxTable | None
    sales: Mapping[Pair, TimedSale]


def base_prices(deps: PricingDeps, ctx: CallContext, skus: Iterable[str]) -> dict[str, BasePrice]:
    wanted = sorted(set(skus))
    return deps.catalog.base_prices(ctx, wanted) if wanted else {}


def snapshot(repo: Repository, tenant_id: str, pairs: Iterable[Pair], *, lock: bool = False) -> Snapshot:
    pairs = list(pairs)
    fx = repo.fx_table(tenant_id)
    return Snapshot(
        stored=repo.prices(tenant_id, keys=pairs, lock=lock),
        connections=repo.connections(tenant_id),
        fx=None if fx is None else fx[0],
        sales=repo.active_sales(tenant_id),
    )


def regular(
    pair: Pair,
    stored: StoredPrice | None,
    settings: ConnectionSettings | None,
    base: BasePrice | None,
    fx: FxTable | None,
) -> tuple[int, str, int | None, bool] | None:
    """(amount, currency, compare_at, derived) without any sale; None when nothing prices it."""
    if stored is not None and stored.amount_minor is not None:
        return stored.amount_minor, stored.currency, stored.compare_at_minor, False
    if base is None:
        return None
    settings = settings or ConnectionSettings(pair[0])
    table = fx or FxTable(base.currency)
    pricing = settings.pricing(table.base if fx is not None else base.currency)
    return derive(base.amount_minor, base.currency, pricing, table), pricing.currency, None, True


def resolve(
    pair: Pair, snap: Snapshot, base: BasePrice | None, fx: FxTable | None = None
) -> Effective | None:
    """The effective price of `pair` (with `fx` instead of the snapshot's table when given)."""
    settings = snap.connections.get(pair[0])
    found = regular(pair, snap.stored.get(pair), settings, base, fx or snap.fx)
    if found is None:
        return None
    amount, currency, compare_at, derived = found
    floor = settings.floor_minor if settings else None
    sale = snap.sales.get(pair)
    if sale is not None and sale.currency == currency:
        return Effective(pair[0], pair[1], sale.sale_minor, currency, amount, derived, amount, floor, True)
    return Effective(pair[0], pair[1], amount, currency, compare_at, derived, amount, floor)
