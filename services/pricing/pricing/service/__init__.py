"""Pricing use cases: module functions over `PricingDeps` (unit of work, catalog and listings
ports, clock).

Modules by job: prices (list, set, history), bulk (preview, apply), fx (the tenant's table and the
prices it moves), connections (pricing and schedule per connection), sales (timed sales),
schedules (the scheduled re-push), effective (which price a channel shows), publishing (history +
outbox event of every change), ports.
"""

from pricing.service.bulk import PreviewResult, PriceFilter, apply_change, preview_change
from pricing.service.connections import get_connection_pricing, set_connection_pricing, set_price_schedule
from pricing.service.effective import Effective
from pricing.service.fx import FxView, get_fx_rates, import_fx_rates, set_fx_rates
from pricing.service.ports import CatalogPort, ListingsPort, PricingDeps, UpstreamUnavailable
from pricing.service.prices import Listed, list_prices, price_history, set_price
from pricing.service.sales import create_sale, list_sales, run_due_sales
from pricing.service.schedules import repush_connection, run_due_schedules

__all__ = [
    "CatalogPort",
    "Effective",
    "FxView",
    "Listed",
    "ListingsPort",
    "PreviewResult",
    "PriceFilter",
    "PricingDeps",
    "UpstreamUnavailable",
    "apply_change",
    "create_sale",
    "get_connection_pricing",
    "get_fx_rates",
    "import_fx_rates",
    "list_prices",
    "list_sales",
    "preview_change",
    "price_history",
    "repush_connection",
    "run_due_sales",
    "run_due_schedules",
    "set_connection_pricing",
    "set_fx_rates",
    "set_price",
    "set_price_schedule",
]
