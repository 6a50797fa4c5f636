"""What the use cases need from other services, in domain terms. The gRPC adapters are
pricing.clients (catalog: base prices; channels: the SKUs listed on a connection); tests hand in
any object with these methods."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from omnistock_common.context import CallContext
from omnistock_common.errors import Unavailable
from pricing.domain.model import BasePrice
from pricing.repository import UnitOfWork


@dataclass(eq=False)
class UpstreamUnavailable(Unavailable):
    """Catalog or channels did not answer (down, deadline): try again."""

    retry_after: float | None = field(default=1.0)


class CatalogPort(Protocol):
    def base_prices(self, ctx: CallContext, skus: Sequence[str]) -> dict[str, BasePrice]:
        """The base price of every SKU the catalog knows (unknown SKUs are left out)."""
        ...

    def skus_with_status(self, ctx: CallContext, status: str) -> set[str]:
        """The SKUs of every product in `status` (`active`, `draft`, `archived`)."""
        ...


class ListingsPort(Protocol):
    def listed_skus(self, ctx: CallContext, connection_id: str) -> list[str]:
        """Every SKU listed on the connection (all pages)."""
        ...


@dataclass(frozen=True)
class PricingDeps:
    """The collaborators of the pricing use cases (one per process, built by the composition root)."""

    uow: UnitOfWork
    catalog: CatalogPort
    listings: ListingsPort
    clock: Callable[[], datetime]
    # An FX change re-pushes a derived price that moves by at least this fraction.
    fx_threshold: Decimal = Decimal("0.01")
