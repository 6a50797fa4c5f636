"""Pricing REST models (API.md "Pricing"): what the pricing routes accept and answer.

Their translation to and from the pricing protobufs is gateway.mapping.pricing. Amounts and rates
are decimal strings (percent may also be an integer); floats are refused like everywhere else.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, Field, field_validator, model_validator

from gateway.schemas import Identifier, MoneyIn, MoneyOut, OutModel, PageQuery, StrictModel
from omnistock_common.money import MoneyError, is_supported_currency, to_minor

_SIGNED_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
RoundingName = Literal["none", "0.99", "nearest_0.05"]
_CONNECTION = Field(min_length=1, max_length=64)


class PriceQuery(PageQuery):
    sku: Identifier | None = Field(None, max_length=256)
    connection_id: Identifier | None = Field(None, max_length=64)

    @model_validator(mode="after")
    def _one(self) -> PriceQuery:
        if not self.sku and not self.connection_id:
            raise ValueError("sku or connection_id is required")
        return self


class PriceOut(OutModel):
    sku: str
    connection_id: str
    price: MoneyOut
    compare_at_price: MoneyOut | None
    derived: bool = Field(description="true: the base price converted (FX, rounding, floor); false: set")
    updated_at: datetime | None


class PricePage(OutModel):
    items: list[PriceOut]
    next_cursor: str | None


class PriceIn(StrictModel):
    connection_id: Identifier = _CONNECTION
    price: MoneyIn | None = Field(description="null: derive the price from the base price again")
    compare_at_price: MoneyIn | None = None
    reason: str = Field("", max_length=256)


class SignedMoneyIn(StrictModel):
    """An amount that may be negative (a bulk change of -1.00 USD)."""

    amount: str = Field(max_length=40, examples=["-1.00"])
    currency: str = Field(max_length=3, examples=["USD"])

    @model_validator(mode="after")
    def _exact(self) -> SignedMoneyIn:
        if not _SIGNED_DECIMAL.match(self.amount):
            raise ValueError('amount must be a decimal string such as "-1.00"')
        if not is_supported_currency(self.currency):
            raise ValueError("currency must be a supported ISO 4217 code such as USD")
        try:
            to_minor(self.amount, self.currency)
        except MoneyError as exc:
            raise ValueError(str(exc)) from None
        return self

    @property
    def minor(self) -> int:
        return to_minor(self.amount, self.currency)


class ChangeIn(StrictModel):
    percent: int | str | None = Field(None, examples=[10, "-12.5"], description="a number or decimal string")
    amount: SignedMoneyIn | None = None

    @field_validator("percent")
    @classmethod
    def _decimal(cls, value: int | str | None) -> int | str | None:
        if isinstance(value, str) and not _SIGNED_DECIMAL.match(value):
            raise ValueError('must be a decimal such as 10 or "-12.5"')
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> ChangeIn:
        if (self.percent is None) == (self.amount is None):
            raise ValueError("exactly one of percent or amount")
        return self


class FilterIn(StrictModel):
    sku_prefix: str = Field("", max_length=256)
    product_status: Literal["", "active", "draft", "archived"] = ""
    tag: str = Field("", max_length=128)


class BulkIn(StrictModel):
    """A dry run `{connection_id, change, filter?, rounding?, dry_run: true}` previews; `{preview_id}`
    applies exactly that preview."""

    preview_id: str | None = Field(None, max_length=64)
    connection_id: Identifier | None = Field(None, max_length=64)
    change: ChangeIn | None = None
    filter: FilterIn | None = None
    rounding: RoundingName | None = None
    reason: str = Field("", max_length=256)
    dry_run: bool | None = None

    @model_validator(mode="after")
    def _preview_or_apply(self) -> BulkIn:
        if self.preview_id is not None:
            others = self.model_fields_set - {"preview_id"}
            if others:
                raise ValueError(
                    f"applying a preview takes only preview_id (not {', '.join(sorted(others))})"
                )
            return self
        if self.change is None or not self.connection_id:
            raise ValueError("a preview needs connection_id and change (or send preview_id to apply)")
        if self.dry_run is not True:
            raise ValueError("dry_run must be true: preview first, then apply with the preview_id")
        return self


class PreviewItemOut(OutModel):
    sku: str
    connection_id: str
    before: MoneyOut
    after: MoneyOut


class BulkOut(OutModel):
    """The preview (`preview_id`, `count`, the first `items`), or `count` alone after an apply."""

    preview_id: str | None = None
    count: int
    items: list[PreviewItemOut] | None = None


class PriceChangeOut(OutModel):
    at: datetime | None
    connection_id: str
    before: MoneyOut | None
    after: MoneyOut
    actor: str
    reason: str


class PriceHistoryPage(OutModel):
    items: list[PriceChangeOut]
    next_cursor: str | None


class FxRatesIn(StrictModel):
    base: str = Field(min_length=3, max_length=3, examples=["USD"])
    rates: dict[str, str] = Field(examples=[{"EUR": "0.92", "GBP": "0.79", "BDT": "119.5"}], max_length=400)
    threshold_percent: str | None = Field(
        None,
        max_length=32,
        examples=["1"],
        description="re-push derived prices moved by at least this; null: keep",
    )


class FxImportQuery(StrictModel):
    base: str | None = Field(None, min_length=3, max_length=3, description="default: the current base")
    threshold_percent: str | None = Field(None, max_length=32)


class FxRatesOut(OutModel):
    base: str | None
    rates: dict[str, str]
    updated_at: dict[str, datetime | None] = Field(description="when each rate last changed")
    threshold_percent: str = Field(description="derived prices are re-pushed when they move by at least this")
    repriced: int | None = Field(None, description="PUT: derived prices re-pushed (moved >= the threshold)")


class ScheduleIn(StrictModel):
    cron: str = Field(min_length=1, max_length=128, examples=["0 0 * * *"])
    timezone: str = Field("UTC", min_length=1, max_length=64, examples=["UTC"])


class ConnectionPricingIn(StrictModel):
    currency: str = Field("", max_length=3, description='"": the FX base currency')
    rounding: RoundingName = "none"
    floor: MoneyIn | None = None


class ConnectionPricingOut(OutModel):
    connection_id: str
    currency: str
    rounding: RoundingName
    floor: MoneyOut | None
    cron: str
    timezone: str


class TimedSaleIn(StrictModel):
    sku: Identifier = Field(min_length=1, max_length=256)
    connection_id: Identifier = _CONNECTION
    sale_price: MoneyIn
    starts_at: AwareDatetime
    ends_at: AwareDatetime


class TimedSaleOut(OutModel):
    id: str
    sku: str
    connection_id: str
    sale_price: MoneyOut
    starts_at: datetime | None
    ends_at: datetime | None
    state: Literal["scheduled", "active", "ended"]


class TimedSaleQuery(PageQuery):
    sku: Identifier | None = Field(None, max_length=256)
    connection_id: Identifier | None = Field(None, max_length=64)


class TimedSalePage(OutModel):
    items: list[TimedSaleOut]
    next_cursor: str | None
