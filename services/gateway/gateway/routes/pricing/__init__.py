"""Pricing REST endpoints (API.md "Pricing") ↔ the pricing gRPC service.

One area in three files, mounted in this order (the order of the OpenAPI document): channel
prices (list, set, bulk preview/apply, history); FX rates; per-connection pricing, price-sync
schedules and timed sales. Views call one RPC each with messages built by
gateway.mapping.pricing; every rule lives in the pricing service. Applying a bulk preview whose
prices changed since comes back ABORTED, which the error mapper makes a 409.
"""

from __future__ import annotations

from gateway.api import ApiModule
from gateway.routes.pricing import client, connections, fx, prices

api = ApiModule("pricing", tag="Pricing").include(prices.routes, fx.routes, connections.routes)
api.blueprint.record(client.setup)
