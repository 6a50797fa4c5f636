"""Protobuf ↔ REST translation, one module per backend area (catalog, inventory, channels).

Routes stay thin: they parse the request, call one RPC with a message built here, and answer with
a model converted here. A view builds a request itself only when its fields are path or body
values as they are (`GetReservationRequest(reservation_id=...)`); whatever is translated (enums,
optional fields, money, timestamps, pages, nested lines) is written here, once. Timestamps go
through omnistock_common.timestamps (unset → null) like in every service; the page helpers below
are shared by the areas, so an empty cursor means the same thing in every response.
"""

from __future__ import annotations

from omnistock.common.v1 import common_pb2


def page_request(limit: int, cursor: str | None) -> common_pb2.PageRequest:
    """A keyset page request; no cursor is the first page."""
    return common_pb2.PageRequest(limit=limit, cursor=cursor or "")


def next_cursor(page: common_pb2.PageResponse) -> str | None:
    """The cursor of the next page, or None on the last one (an empty cursor never reaches JSON)."""
    return page.next_cursor or None
