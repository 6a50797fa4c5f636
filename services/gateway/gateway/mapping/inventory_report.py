"""Stock levels joined with catalog costs as the rows of the inventory report (docs/api.md
"Analytics and reports").

One `level` row per SKU and location, in the inventory service's order (SKU, then location
code), then the `total` rows: one over every level (units only: money is never summed across
currencies), then one per cost currency (the units and the value of the levels costed in it),
by currency code. The unit cost is the catalog variant's `cost`; a SKU without a variant or
without a cost has empty `currency`, `unit_cost` and `value_at_cost` (never an invented 0), and
counts only in the first total. Value at cost = on hand x unit cost, in the currency's minor
units, so no rounding happens. Nothing is held but one page and the per-currency sums.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from gateway.tabular import Column, Kind, Row
from omnistock.catalog.v1 import catalog_service_pb2 as catalog_pb
from omnistock.common.v1 import common_pb2
from omnistock.inventory.v1 import inventory_service_pb2 as pb
from omnistock_common.money import from_minor

# ListStockLevels' largest page (omnistock_common.paging.MAX_LIMIT) and GetVariantsBySku's most
# SKUs per call (catalog.service.MAX_SKUS_PER_LOOKUP).
LEVELS_PER_PAGE = 500
SKUS_PER_LOOKUP = 1_000

TEXT, INT, AMOUNT = Kind.TEXT, Kind.INTEGER, Kind.AMOUNT

COLUMNS: tuple[Column, ...] = (
    Column("row", TEXT, "level (one SKU at one location) or total"),
    Column("sku", TEXT),
    Column("location", TEXT, "location code"),
    Column("on_hand", INT),
    Column("reserved", INT),
    Column("available", INT),
    Column("currency", TEXT, "ISO 4217 code of the cost; empty when the cost is unknown"),
    Column("unit_cost", AMOUNT, "the catalog variant's cost"),
    Column("value_at_cost", AMOUNT, "on_hand x unit_cost"),
)

Page = tuple[Sequence[pb.StockLevel], Mapping[str, common_pb2.Money]]


def levels_request(cursor: str) -> pb.ListStockLevelsRequest:
    return pb.ListStockLevelsRequest(page=common_pb2.PageRequest(limit=LEVELS_PER_PAGE, cursor=cursor))


def variants_requests(levels: Iterable[pb.StockLevel]) -> Iterator[catalog_pb.GetVariantsBySkuRequest]:
    """The distinct SKUs of a page, at most SKUS_PER_LOOKUP per request."""
    skus = sorted({level.sku for level in levels})
    for start in range(0, len(skus), SKUS_PER_LOOKUP):
        yield catalog_pb.GetVariantsBySkuRequest(skus=skus[start : start + SKUS_PER_LOOKUP])


def costs_by_sku(replies: Iterable[catalog_pb.GetVariantsBySkuResponse]) -> dict[str, common_pb2.Money]:
    """SKU -> the variant's cost, for the variants that have one."""
    return {
        variant.sku: variant.cost
        for reply in replies
        for variant in reply.variants
        if variant.HasField("cost") and variant.cost.currency
    }


@dataclass
class _Sum:
    on_hand: int = 0
    reserved: int = 0
    available: int = 0
    value_minor: int = 0

    def add(self, level: pb.StockLevel, value_minor: int = 0) -> None:
        self.on_hand += level.on_hand
        self.reserved += level.reserved
        self.available += level.available
        self.value_minor += value_minor


def report_rows(pages: Iterable[Page]) -> Iterator[Row]:
    """The level rows page by page, then the totals (module docstring)."""
    overall = _Sum()
    by_currency: dict[str, _Sum] = {}
    for levels, costs in pages:
        for level in levels:
            cost = costs.get(level.sku)
            overall.add(level)
            if cost is None:
                yield ("level", level.sku, level.location_code, *_units(level), None, None, None)
                continue
            value = level.on_hand * cost.amount_minor
            by_currency.setdefault(cost.currency, _Sum()).add(level, value)
            yield (
                "level",
                level.sku,
                level.location_code,
                *_units(level),
                cost.currency,
                from_minor(cost.amount_minor, cost.currency),
                from_minor(value, cost.currency),
            )
    yield ("total", None, None, overall.on_hand, overall.reserved, overall.available, None, None, None)
    for currency in sorted(by_currency):
        s = by_currency[currency]
        value = from_minor(s.value_minor, currency)
        yield ("total", None, None, s.on_hand, s.reserved, s.available, currency, None, value)


def _units(level: pb.StockLevel) -> tuple[int, int, int]:
    return level.on_hand, level.reserved, level.available
