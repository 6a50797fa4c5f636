"""Request/response models shared by every route module (pydantic v2).

Requests use StrictModel: an unknown field is a 400, never silently dropped, because a typo such
as `"stauts": "draft"` must not turn into a successful no-op. JSON bodies are validated in pydantic's
strict mode (gateway.inputs.parse_body): `"delta": true` or `"delta": "3"` is a 400, never +1 or +3.

Integers carry the range of the protobuf field they end up in (INT32/INT64 below), so an
out-of-range number is a 400 naming the field instead of a ValueError deep in protobuf (a 500).
Identifiers (SKUs, location codes, references) are `Identifier`: no control, bidi or zero-width
characters, NFC-normalised (omnistock_common.identifiers, the same rule the services apply).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from omnistock_common.identifiers import clean_identifier
from omnistock_common.money import MoneyError, is_supported_currency, to_minor

# Ranges of protobuf's int32/int64 (and of PostgreSQL's integer/bigint behind them).
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# A SKU, location code or other identifier: refused control/bidi/zero-width characters, NFC.
Identifier = Annotated[str, AfterValidator(clean_identifier)]

_DECIMAL = re.compile(r"^\d+(\.\d+)?$")


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OutModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PageQuery(StrictModel):
    limit: int = Field(50, ge=1, le=500)
    cursor: str | None = Field(None, max_length=2048)


def check_patch(model: BaseModel, *, empty: str, clearable: Collection[str] = ()) -> None:
    """A PATCH body names at least one field (else `empty`), and only `clearable` ones may be null:
    for the others null would silently mean "no change", which the caller did not ask for."""
    if not model.model_fields_set:
        raise ValueError(empty)
    for name in model.model_fields_set - set(clearable):
        if getattr(model, name) is None:
            raise ValueError(f"{name} cannot be null")


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

    amount: str = Field(max_length=40, examples=["19.99"])
    currency: str = Field(max_length=3, examples=["USD"])

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
