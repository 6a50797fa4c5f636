"""Inventory use cases: each one is a function over a UnitOfWork, one transaction per change.

Modules by job: locations.py, stock.py (levels, adjustments, ledger), reservations.py (reserve,
commit, release, expiry) over reservation_groups.py (the grouped execution of reserve and
commit, the one implementation on every database), rules.py (thresholds, alerts, allocation
rules, bundles), turnover.py (read from the daily read model) and publishing.py (the event and
alert bookkeeping every change ends with).
This package re-exports the use cases, so callers write `service.reserve(...)`.
"""

from inventory.service.locations import create_location, ensure_default_location, list_locations
from inventory.service.publishing import LOW_STOCK, STOCK_CHANGED
from inventory.service.reservation_groups import (
    CommitGroup,
    PendingCommit,
    PendingReserve,
    Redo,
    ReserveCommand,
    ReserveGroup,
    commit_group,
    execute_group,
    make_commit_group,
    make_reserve_group,
    reserve_group,
)
from inventory.service.reservations import (
    commit_reservation,
    expire_due_reservations,
    get_reservation,
    list_holding_reservations,
    release_reservation,
    reserve,
    short_lines,
)
from inventory.service.rules import (
    close_alert,
    default_low_stock_threshold,
    delete_allocation_rule,
    delete_bundle,
    get_allocation_rule,
    get_bundle,
    list_alerts,
    open_oversold_alerts,
    put_allocation_rule,
    put_bundle,
    record_sync_latency,
    set_default_low_stock_threshold,
    set_low_stock_threshold,
)
from inventory.service.stock import (
    adjust,
    batch_adjust,
    get_available_to_sell,
    get_sku_stock,
    list_movements,
    list_stock_levels,
    reconcile,
    reconcile_all,
)
from inventory.service.turnover import inventory_turnover

__all__ = [
    "LOW_STOCK",
    "STOCK_CHANGED",
    "CommitGroup",
    "PendingCommit",
    "PendingReserve",
    "Redo",
    "ReserveCommand",
    "ReserveGroup",
    "adjust",
    "batch_adjust",
    "close_alert",
    "commit_group",
    "commit_reservation",
    "create_location",
    "default_low_stock_threshold",
    "delete_allocation_rule",
    "delete_bundle",
    "ensure_default_location",
    "execute_group",
    "expire_due_reservations",
    "get_allocation_rule",
    "get_available_to_sell",
    "get_bundle",
    "get_reservation",
    "get_sku_stock",
    "inventory_turnover",
    "list_alerts",
    "list_holding_reservations",
    "list_locations",
    "list_movements",
    "list_stock_levels",
    "make_commit_group",
    "make_reserve_group",
    "open_oversold_alerts",
    "put_allocation_rule",
    "put_bundle",
    "reconcile",
    "reconcile_all",
    "record_sync_latency",
    "release_reservation",
    "reserve",
    "reserve_group",
    "set_default_low_stock_threshold",
    "set_low_stock_threshold",
    "short_lines",
]
