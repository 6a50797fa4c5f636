"""Orders REST endpoints (API.md "Orders") ↔ the orders gRPC service.

One area in three files, mounted in this order (the order of the OpenAPI document): the list,
one order and manual orders; the export; what the merchant does to an order (fulfil, cancel,
return, resolve a duplicate). Views call one RPC each with messages built by
gateway.mapping.orders; every rule lives in the orders service. A manual order or a fulfilment
that finds too little stock comes back as FAILED_PRECONDITION (409, with `lines` when the detail
says which); an Idempotency-Key used again for a different request is a 422 (gateway.errors).
"""

from __future__ import annotations

from gateway.api import ApiModule
from gateway.routes.orders import actions, client, export, orders

api = ApiModule("orders", tag="Orders").include(orders.routes, export.routes, actions.routes)
api.blueprint.record(client.setup)
