"""Protobuf ↔ REST translation, one module per backend area (catalog, inventory, channels, orders).

Routes stay thin: they parse the request, call one RPC with a message built here, and answer with
a model converted here. A view builds a request itself only when its fields are path or body
values as they are (`GetReservationRequest(reservation_id=...)`); whatever is translated (enums,
optional fields, money, timestamps, pages, nested lines) is written here, once. Timestamps go
through omnistock_common.timestamps (unset → null) like in every service; the page and money
helpers below are shared by the areas, so an empty cursor or an amount means the same thing in
every response. Money crosses as decimal strings in JSON and integer minor units in protobuf,
converted by omnistock_common.money with the currency's own decimals (USD 2, JPY 0, BHD 3).
"""

from __future__ import annotations

from typing import Any, TypeVar

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import BaseModel

from gateway.schemas import MoneyIn, MoneyOut
from omnistock.common.v1 import common_pb2
from omnistock_common.money import from_minor
from omnistock_common.timestamps import from_timestamp

M = TypeVar("M", bound=BaseModel)


def mirrored(model: type[M], message: Message, **overrides: Any) -> M:
    """A response model whose fields mirror the message's by name: timestamps become datetimes
    (null when unset), scalars are copied; `overrides` give the fields that are translated."""
    values: dict[str, Any] = {}
    for name in model.model_fields:
        if name in overrides:
            continue
        value = getattr(message, name)
        values[name] = from_timestamp(value) if isinstance(value, Timestamp) else value
    return model(**values, **overrides)


def page_request(limit: int, cursor: str | None) -> common_pb2.PageRequest:
    """A keyset page request; no cursor is the first page."""
    return common_pb2.PageRequest(limit=limit, cursor=cursor or "")


def next_cursor(page: common_pb2.PageResponse) -> str | None:
    """The cursor of the next page, or None on the last one (an empty cursor never reaches JSON)."""
    return page.next_cursor or None


def money_to_pb(money: MoneyIn) -> common_pb2.Money:
    return common_pb2.Money(amount_minor=money.minor, currency=money.currency)


def money_from_pb(money: common_pb2.Money) -> MoneyOut:
    """ "19.99" from 1999 USD, "1999" from 1999 JPY, "19.999" from 19999 BHD: never a float."""
    return MoneyOut(amount=from_minor(money.amount_minor, money.currency), currency=money.currency)
