"""Per-channel allocation rules and bundles: both name things of other services (a channel
connection, catalog SKUs), which are checked to exist for the caller's tenant before inventory
stores anything."""

from __future__ import annotations

from gateway import inventory_schemas as s
from gateway.api import RouteGroup, call_context, deps
from gateway.domain import Permission
from gateway.errors import ApiProblem
from gateway.mapping import inventory as m
from gateway.routes.inventory.client import inventory
from omnistock.catalog.v1 import catalog_service_pb2 as catalog_pb
from omnistock.channels.v1 import channels_service_pb2 as channels_pb
from omnistock.inventory.v1 import inventory_service_pb2 as pb

routes = RouteGroup()


def _require_connection(connection_id: str) -> None:
    """The connection exists and is the caller's tenant's (the channels service scopes by tenant):
    its NOT_FOUND becomes this request's 404 before inventory stores anything."""
    channels = deps().channels
    if channels is None:
        raise ApiProblem(503, "the channels service is not configured")
    channels.rpc.call(call_context()).GetConnection(
        channels_pb.GetConnectionRequest(connection_id=connection_id)
    )


def _require_catalog_skus(skus: list[str], field_format: str) -> None:
    """400 naming every SKU the tenant's catalog does not have."""
    reply = (
        deps()
        .catalog.rpc.call(call_context())
        .GetVariantsBySku(catalog_pb.GetVariantsBySkuRequest(skus=skus))
    )
    missing = set(reply.missing_skus)
    if missing:
        raise ApiProblem(
            400,
            "unknown SKU(s): " + ", ".join(sorted(missing)),
            errors=[
                {"field": field_format.format(i), "message": f"SKU {sku!r} is not in the catalog"}
                for i, sku in enumerate(skus)
                if sku in missing
            ],
        )


@routes.route(
    "GET",
    "/channels/<connection_id>/allocation",
    summary="Get a channel's allocation rule",
    permission=Permission.INVENTORY_READ,
    response=s.AllocationOut,
)
def get_allocation(connection_id: str) -> s.AllocationOut:
    response = inventory().GetAllocationRule(pb.GetAllocationRuleRequest(connection_id=connection_id))
    return m.allocation_out(response.rule)


@routes.route(
    "PUT",
    "/channels/<connection_id>/allocation",
    summary="Set a channel's allocation rule",
    permission=Permission.INVENTORY_WRITE,
    body=s.AllocationIn,
    response=s.AllocationOut,
)
def put_allocation(connection_id: str, body: s.AllocationIn) -> s.AllocationOut:
    """Safety `buffer`, `max_quantity` cap, `percentage` of the pool, optional dynamic buffer.
    Only for one of the tenant's own connections: an unknown id is a 404 and nothing is stored."""
    _require_connection(connection_id)
    request_pb = pb.PutAllocationRuleRequest(rule=m.allocation_rule(connection_id, body))
    return m.allocation_out(inventory().PutAllocationRule(request_pb).rule)


@routes.route(
    "PUT",
    "/bundles/<sku>",
    summary="Define a bundle",
    permission=Permission.INVENTORY_WRITE,
    body=s.BundleIn,
    response=s.BundleOut,
    problems=(409,),
)
def put_bundle(sku: str, body: s.BundleIn) -> s.BundleOut:
    """The bundle's availability is min(component available ÷ quantity); reserving it holds the components.
    Every component must be a SKU of the catalog: unknown ones are a 400 naming each of them."""
    _require_catalog_skus([c.sku for c in body.components], "components[{}].sku")
    return m.bundle_out(inventory().PutBundle(m.bundle_request(sku, body)))
