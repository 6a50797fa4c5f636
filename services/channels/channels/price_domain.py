"""Rules of channel prices as the sync engine carries them (pure: no I/O, no generated code).

The pricing service announces each price of a (connection, SKU) as `pricing.price_changed`
(architecture.md, "Events"); the channels worker keeps only the newest version per (connection,
SKU) and pushes it with the connector's PushPrices. Why a compact token: the coalescing store
keeps one Redis hash value per SKU ("<token>|<version>|<recorded_ms>", the same shape as a stock
figure), so a price has to be one string without '|'.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from omnistock_common.errors import FieldViolation, InvalidArgument

PRICE_CHANGED_EVENT = "pricing.price_changed"
PRICE_SYNC_REQUESTED_EVENT = "channels.price_sync_requested"
_CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_SKU = 128


@dataclass(frozen=True)
class Money:
    """Integer minor units and an ISO 4217 code (docs/development.md, "Money")."""

    amount_minor: int
    currency: str


@dataclass(frozen=True)
class ChannelPrice:
    """What a shopper sees on one channel: the selling price and the optional "was" price."""

    price: Money
    compare_at: Money | None = None

    def token(self) -> str:
        """`9900:USD:` or `8900:EUR:9900:EUR`: the form kept in Redis and listings."""
        compare = f"{self.compare_at.amount_minor}:{self.compare_at.currency}" if self.compare_at else ":"
        return f"{self.price.amount_minor}:{self.price.currency}:{compare}"

    def shown(self) -> ChannelPrice:
        """What a shopper sees: a "was" price not above the price shows no sale (WooCommerce
        keeps none then), so reconciliation compares prices in this form."""
        compare = self.compare_at
        if compare is not None and (
            compare.currency != self.price.currency or compare.amount_minor <= self.price.amount_minor
        ):
            compare = None
        return ChannelPrice(self.price, compare)

    def describe(self) -> str:
        """`9900 USD (was 12900 USD)`, minor units, for the sync log."""
        text = f"{self.price.amount_minor} {self.price.currency}"
        return text + (
            f" (was {self.compare_at.amount_minor} {self.compare_at.currency})" if self.compare_at else ""
        )

    @classmethod
    def from_token(cls, token: str) -> ChannelPrice | None:
        """The price a token names, or None for anything malformed (never pushed)."""
        parts = token.split(":")
        if len(parts) != 4 or not _CURRENCY.match(parts[1]):
            return None
        try:
            price = Money(int(parts[0]), parts[1])
            compare = Money(int(parts[2]), parts[3]) if parts[2] or parts[3] else None
        except ValueError:
            return None
        if compare is not None and not _CURRENCY.match(compare.currency):
            return None
        return cls(price, compare)


@dataclass(frozen=True)
class PriceChange:
    """One `pricing.price_changed` event, checked."""

    tenant_id: str
    connection_id: str
    sku: str
    price: ChannelPrice
    version: int
    changed_at: datetime
    reason: str


def _money(value: Any, field: str, problems: list[FieldViolation]) -> Money | None:
    if not isinstance(value, Mapping):
        problems.append(FieldViolation(field, "an object {amount_minor, currency}"))
        return None
    amount, currency = value.get("amount_minor"), value.get("currency")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
        problems.append(FieldViolation(f"{field}.amount_minor", "a non-negative integer"))
        return None
    if not isinstance(currency, str) or not _CURRENCY.match(currency):
        problems.append(FieldViolation(f"{field}.currency", "an ISO 4217 code such as USD"))
        return None
    return Money(amount, currency)


def _text(payload: Mapping[str, Any], field: str, problems: list[FieldViolation], limit: int) -> str:
    value = payload.get(field)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        problems.append(FieldViolation(field, f"a non-empty string of at most {limit} characters"))
        return ""
    return value


def parse_price_changed(payload: Mapping[str, Any]) -> PriceChange:
    """The checked event, or InvalidArgument naming every bad field (the worker drops it)."""
    problems: list[FieldViolation] = []
    tenant_id = _text(payload, "tenant_id", problems, 64)
    connection_id = _text(payload, "connection_id", problems, 36)
    sku = _text(payload, "sku", problems, MAX_SKU)
    price = _money(payload.get("price"), "price", problems)
    compare_raw = payload.get("compare_at_price")
    compare = None if compare_raw is None else _money(compare_raw, "compare_at_price", problems)
    version = payload.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        problems.append(FieldViolation("version", "a non-negative integer"))
    changed_at: datetime | None = None
    try:
        changed_at = datetime.fromisoformat(str(payload.get("changed_at", "")))
        if changed_at.tzinfo is None:
            raise ValueError
    except ValueError:
        problems.append(FieldViolation("changed_at", "an ISO-8601 time with its offset"))
    reason = payload.get("reason", "")
    if not isinstance(reason, str):
        problems.append(FieldViolation("reason", "a string"))
    if problems or price is None or changed_at is None:
        raise InvalidArgument("malformed pricing.price_changed event", violations=problems)
    assert isinstance(version, int)
    return PriceChange(
        tenant_id, connection_id, sku, ChannelPrice(price, compare), version, changed_at, str(reason)[:200]
    )


__all__ = [
    "PRICE_CHANGED_EVENT",
    "PRICE_SYNC_REQUESTED_EVENT",
    "ChannelPrice",
    "Money",
    "PriceChange",
    "parse_price_changed",
]
