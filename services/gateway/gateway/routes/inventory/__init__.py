"""Inventory REST endpoints (API.md "Inventory") ↔ the inventory gRPC service.

One area in five files, mounted in this order (the order of the OpenAPI document): locations;
stock levels, adjustments (single and batch), the movement ledger, low-stock thresholds and alerts;
reservations; per-channel allocation rules and bundles; the inventory report (levels joined with
catalog costs, report.py). Views call one RPC each with messages built by gateway.mapping.inventory; every rule lives in the inventory service. A short
reservation comes back as FAILED_PRECONDITION with an InsufficientStock detail, which the
gateway's error mapper (gateway.errors) turns into a 409 problem with `lines: [{sku, requested,
available}]`.
"""

from __future__ import annotations

from gateway.api import ApiModule
from gateway.routes.inventory import allocation, client, locations, report, reservations, stock

api = ApiModule("inventory", tag="Inventory").include(
    locations.routes, stock.routes, reservations.routes, allocation.routes, report.routes
)
api.blueprint.record(client.setup)
