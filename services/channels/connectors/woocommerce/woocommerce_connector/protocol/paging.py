"""Opaque paging cursors for orders and products, and the query parameters they turn into."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from woocommerce_connector.protocol.api import MAX_PER_PAGE, ProtocolError
from woocommerce_connector.protocol.orders import OrderData, format_woo_datetime, parse_woo_datetime


@dataclass(frozen=True)
class OrdersCursor:
    """Where FetchOrders continues: the modified_after bound, the page under it, the page size.

    per_page travels in the cursor because page N only means the same offset at the same size.
    """

    since: datetime
    page: int = 1
    per_page: int = MAX_PER_PAGE


def _encode(payload: Mapping[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def _decode(cursor: str) -> dict[str, Any]:
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ProtocolError("cursor is not a cursor this connector issued") from None
    if not isinstance(payload, dict):
        raise ProtocolError("cursor is not a cursor this connector issued")
    return payload


def encode_orders_cursor(cursor: OrdersCursor) -> str:
    return _encode(
        {"v": 1, "since": format_woo_datetime(cursor.since), "page": cursor.page, "pp": cursor.per_page}
    )


def decode_orders_cursor(cursor: str) -> OrdersCursor:
    payload = _decode(cursor)
    since = parse_woo_datetime(payload.get("since"))
    page, per_page = payload.get("page"), payload.get("pp")
    if (
        payload.get("v") != 1
        or since is None
        or not isinstance(page, int)
        or not isinstance(per_page, int)
        or page < 1
        or not 1 <= per_page <= MAX_PER_PAGE
    ):
        raise ProtocolError("cursor is not a cursor this connector issued")
    return OrdersCursor(since, page, per_page)


def page_size(limit: int) -> int:
    """The requested limit clamped to Woo's 1..100 (0 = the maximum: fewer calls)."""
    return MAX_PER_PAGE if limit <= 0 else min(limit, MAX_PER_PAGE)


def orders_query(cursor: OrdersCursor) -> dict[str, str]:
    """Query of `GET orders` for one page, oldest modification first.

    dates_are_gmt makes Woo read modified_after as UTC instead of the store's timezone.
    """
    return {
        "modified_after": format_woo_datetime(cursor.since),
        "dates_are_gmt": "true",
        "orderby": "modified",
        "order": "asc",
        "per_page": str(cursor.per_page),
        "page": str(cursor.page),
    }


def total_pages(headers: Mapping[str, str]) -> int:
    """X-WP-TotalPages (0 when absent or garbage: then there is no known next page)."""
    raw = headers.get("x-wp-totalpages") or headers.get("X-WP-TotalPages") or ""
    try:
        return max(0, int(raw))
    except ValueError:
        return 0


def next_orders_cursor(cursor: OrdersCursor, pages: int, orders: Sequence[OrderData]) -> OrdersCursor | None:
    """The cursor after one page, or None when this was the last page.

    Page numbers are offsets: if an order on an earlier page is modified while we page, it jumps
    to the end and every later order shifts one place left, so plain page+1 would skip one.
    Whenever the page moved time forward, the next page therefore restarts at page 1 from just
    before the newest modification seen (one second earlier, because modified_after is strict and
    Woo dates have whole seconds). That re-delivers the orders of that last second (callers import
    by external id, so duplicates are harmless) but never skips one. Only when a whole page shares
    the same second does it fall back to page+1, the one case where restarting could not progress.
    """
    if cursor.page >= pages or not orders:
        return None
    stamps = [o.updated_at for o in orders if o.updated_at is not None]
    if stamps:
        restart = max(stamps) - timedelta(seconds=1)
        if restart > cursor.since:
            return OrdersCursor(restart, 1, cursor.per_page)
    return OrdersCursor(cursor.since, cursor.page + 1, cursor.per_page)


@dataclass(frozen=True)
class ProductsCursor:
    page: int = 1
    per_page: int = MAX_PER_PAGE


def encode_products_cursor(cursor: ProductsCursor) -> str:
    return _encode({"v": 1, "page": cursor.page, "pp": cursor.per_page})


def decode_products_cursor(cursor: str) -> ProductsCursor:
    payload = _decode(cursor)
    page, per_page = payload.get("page"), payload.get("pp")
    if (
        payload.get("v") != 1
        or not isinstance(page, int)
        or not isinstance(per_page, int)
        or page < 1
        or not 1 <= per_page <= MAX_PER_PAGE
    ):
        raise ProtocolError("cursor is not a cursor this connector issued")
    return ProductsCursor(page, per_page)
