"""What the pricing service stores, as plain values (the repository reads and writes these)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pricing.domain.prices import ConnectionPricing
from pricing.domain.schedule import DEFAULT_CRON, DEFAULT_TIMEZONE


@dataclass(frozen=True)
class ConnectionSettings:
    """A connection's pricing and its price-sync schedule. `currency` "" follows the tenant's
    FX base currency (or the variant's own currency when the tenant has no FX table)."""

    connection_id: str
    currency: str = ""
    rounding: str = "none"
    floor_minor: int | None = None
    schedule_cron: str = DEFAULT_CRON
    schedule_timezone: str = DEFAULT_TIMEZONE
    next_push_at: datetime | None = None

    def pricing(self, fallback_currency: str) -> ConnectionPricing:
        from pricing.domain.rounding import Rounding

        return ConnectionPricing(
            self.currency or fallback_currency, Rounding(self.rounding), self.floor_minor
        )


@dataclass(frozen=True)
class StoredPrice:
    """A channel_prices row: `amount_minor` None = derived; `version` counts announcements."""

    sku: str
    connection_id: str
    amount_minor: int | None
    currency: str
    compare_at_minor: int | None
    announced_minor: int | None
    version: int
    updated_at: datetime


@dataclass(frozen=True)
class HistoryEntry:
    id: int
    at: datetime
    sku: str
    connection_id: str
    currency: str
    before_minor: int | None
    after_minor: int
    actor: str
    reason: str


@dataclass(frozen=True)
class FxRateRow:
    currency: str
    rate: str
    updated_at: datetime


@dataclass(frozen=True)
class BasePrice:
    """A variant's base price from the catalog."""

    amount_minor: int
    currency: str
