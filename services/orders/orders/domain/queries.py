"""The consolidated list: its filter, validated, and its keyset cursor (newest first)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from omnistock_common.errors import FieldViolation, InvalidArgument
from omnistock_common.paging import decode_cursor, encode_cursor
from orders.domain.model import SOURCES, OrderFlag, OrderStatus

DEFAULT_PAGE = 50
MAX_PAGE = 500
EXPORT_PAGE = 200


@dataclass(frozen=True)
class OrderFilter:
    """`channel`: a source (SHOPIFY ... MANUAL, any case) or a connection id; `query`: a
    case-insensitive substring of the customer email, the order name or external id, or a SKU."""

    channel: str = ""
    statuses: tuple[OrderStatus, ...] = ()
    created_from: datetime | None = None
    created_to: datetime | None = None
    query: str = ""
    flags: tuple[OrderFlag, ...] = ()

    @property
    def source(self) -> str | None:
        """The source the `channel` value names, or None when it is a connection id."""
        upper = self.channel.upper()
        return upper if upper in SOURCES else None


@dataclass(frozen=True)
class PageKey:
    """Where a page starts: after the order (created_at, id), in newest-first order."""

    created_at: datetime
    order_id: str


def validate_filter(flt: OrderFilter) -> None:
    problems = []
    if len(flt.channel) > 64:
        problems.append(FieldViolation("filter.channel", "at most 64 characters"))
    if len(flt.query) > 256:
        problems.append(FieldViolation("filter.query", "at most 256 characters"))
    if flt.created_from and flt.created_to and flt.created_from > flt.created_to:
        problems.append(FieldViolation("filter.created_from", "must not be after created_to"))
    if problems:
        raise InvalidArgument("invalid filter", violations=problems)


def page_size(limit: int) -> int:
    if limit < 0:
        raise InvalidArgument(
            "invalid page", violations=[FieldViolation("page.limit", "must not be negative")]
        )
    return min(limit or DEFAULT_PAGE, MAX_PAGE)


def parse_cursor(cursor: str) -> PageKey | None:
    if not cursor:
        return None
    key = decode_cursor(cursor, arity=2)
    try:
        if key is None:
            raise ValueError
        return PageKey(datetime.fromisoformat(key[0]), str(key[1]))
    except (TypeError, ValueError):
        raise InvalidArgument(
            "invalid cursor", violations=[FieldViolation("page.cursor", "not a cursor of this list")]
        ) from None


def cursor_after(created_at: datetime, order_id: str) -> str:
    return encode_cursor([created_at.isoformat(), order_id])
