"""Orders use cases: module functions over the UnitOfWork and the stock port.

Modules by job: channel_orders (versions from the channels, the channel's sync answers),
stock_steps (what inventory is owed, retried by the worker), operations (idempotent merchant
requests), merchant (create, fulfil, cancel, return, resolve a duplicate), recovery (the worker
finishing interrupted requests), queries (get, list, export), analytics (the sales read model's
reports and rebuild), ports (the stock port).
"""

from orders.service.analytics import (
    best_sellers,
    channel_conversion,
    channel_revenue,
    daily_sales,
    import_sessions,
    rebuild_sales,
)
from orders.service.channel_orders import apply_channel_order, flag_duplicates, record_action_synced
from orders.service.merchant import (
    cancel_order,
    create_manual_order,
    fulfill_order,
    resolve_duplicate,
    return_items,
)
from orders.service.ports import HoldRequest, StockPort, StockRefused, StockUnavailable
from orders.service.queries import export_orders, get_order, list_orders
from orders.service.recovery import resume_stale_operations
from orders.service.stock_steps import retry_due_stock, run_stock_steps

__all__ = [
    "HoldRequest",
    "StockPort",
    "StockRefused",
    "StockUnavailable",
    "apply_channel_order",
    "best_sellers",
    "cancel_order",
    "channel_conversion",
    "channel_revenue",
    "create_manual_order",
    "daily_sales",
    "export_orders",
    "flag_duplicates",
    "fulfill_order",
    "get_order",
    "import_sessions",
    "list_orders",
    "rebuild_sales",
    "record_action_synced",
    "resolve_duplicate",
    "resume_stale_operations",
    "retry_due_stock",
    "return_items",
    "run_stock_steps",
]
