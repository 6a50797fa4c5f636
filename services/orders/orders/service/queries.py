"""Reading orders: one order (with every raw version), the consolidated list (keyset pages) and
the export (every matching order, page after page, each page its own short transaction)."""

from __future__ import annotations

from collections.abc import Iterator

from omnistock_common.context import CallContext
from omnistock_common.errors import FieldViolation, InvalidArgument, NotFound
from orders import domain
from orders.domain import EXPORT_PAGE, Order, OrderFilter, PageKey
from orders.repository import UnitOfWork


def get_order(uow: UnitOfWork, ctx: CallContext, order_id: str) -> Order:
    if not order_id:
        raise InvalidArgument("order_id is required", violations=[FieldViolation("order_id", "required")])
    with uow.transaction() as repo:
        order = repo.load_order(ctx.tenant_id, order_id, raw=True)
    if order is None:
        raise NotFound(f"order {order_id} not found")
    return order


def list_orders(
    uow: UnitOfWork, ctx: CallContext, flt: OrderFilter, limit: int = 0, cursor: str = ""
) -> tuple[list[Order], str]:
    """A page of orders, newest first, and the cursor of the next page ("" at the end)."""
    domain.validate_filter(flt)
    size = domain.page_size(limit)
    after = domain.parse_cursor(cursor)
    with uow.transaction() as repo:
        orders = repo.list_orders(ctx.tenant_id, flt, after, size + 1)
    more = len(orders) > size
    orders = orders[:size]
    next_cursor = domain.cursor_after(orders[-1].created_at, orders[-1].id) if more else ""
    return orders, next_cursor


def export_orders(
    uow: UnitOfWork, ctx: CallContext, flt: OrderFilter, page: int = EXPORT_PAGE
) -> Iterator[list[Order]]:
    """Every matching order, newest first, in pages of `page`: memory stays one page whatever
    the count, and no transaction stays open while the caller streams a page out."""
    domain.validate_filter(flt)
    after: PageKey | None = None
    while True:
        with uow.transaction() as repo:
            orders = repo.list_orders(ctx.tenant_id, flt, after, page)
        if orders:
            yield orders
        if len(orders) < page:
            return
        after = PageKey(orders[-1].created_at, orders[-1].id)
