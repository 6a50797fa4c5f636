"""Request/response models shared by every route module (pydantic v2).

Requests use StrictModel: an unknown field is a 400, never silently dropped, because a typo such
as `"stauts": "draft"` must not turn into a successful no-op.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from omnistock_common.money import MoneyError, is_supported_currency, to_minor

_DECIMAL = re.compile(r"^\d+(\.\d+)?$")


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OutModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldError(OutModel):
    field: str
    message: str


class Problem(OutModel):
    """RFC 9457 problem document (plus our extensions)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = Field(default=None, description="400: one entry per invalid field")
    reason: str | None = Field(default=None, description="machine-readable cause, e.g. LAST_OWNER")


class MoneyIn(StrictModel):
    """A non-negative amount as a decimal string in an ISO 4217 currency; never a float."""

    amount: str = Field(examples=["19.99"])
    currency: str = Field(examples=["USD"])

    @field_validator("amount")
    @classmethod
    def _decimal(cls, value: str) -> str:
        if not _DECIMAL.match(value):
            raise ValueError('must be a non-negative decimal string such as "19.99"')
        return value

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if not is_supported_currency(value):
            raise ValueError("must be a supported ISO 4217 currency code such as USD")
        return value

    @model_validator(mode="after")
    def _exact(self) -> MoneyIn:
        try:
            to_minor(self.amount, self.currency)
        except MoneyError as exc:
            raise ValueError(str(exc)) from None
        return self

    @property
    def minor(self) -> int:
        return to_minor(self.amount, self.currency)


class MoneyOut(OutModel):
    amount: str = Field(examples=["19.99"])
    currency: str = Field(examples=["USD"])


def field_path(loc: Sequence[int | str]) -> str:
    """("variants", 0, "price") → "variants[0].price"."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


def validation_errors(exc: ValidationError, *, root: str = "body") -> list[dict[str, Any]]:
    return format_errors(exc.errors(include_url=False), root=root)


def format_errors(errors: Iterable[Any], *, root: str) -> list[dict[str, Any]]:
    out = []
    for error in errors:
        message = str(error["msg"])
        message = message.removeprefix("Value error, ")
        out.append({"field": field_path(error["loc"]) or root, "message": message})
    return out
