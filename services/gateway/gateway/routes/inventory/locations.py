"""Inventory locations (warehouses, stores): list and create."""

from __future__ import annotations

from gateway import inventory_schemas as s
from gateway.api import RouteGroup
from gateway.domain import Permission
from gateway.mapping import inventory as m
from gateway.routes.inventory.client import inventory
from omnistock.inventory.v1 import inventory_service_pb2 as pb

routes = RouteGroup()


@routes.route(
    "GET",
    "/locations",
    summary="List locations",
    permission=Permission.INVENTORY_READ,
    response=s.LocationList,
)
def list_locations() -> s.LocationList:
    response = inventory().ListLocations(pb.ListLocationsRequest())
    return s.LocationList(items=[m.location_out(loc) for loc in response.locations])


@routes.route(
    "POST",
    "/locations",
    summary="Create a location",
    permission=Permission.INVENTORY_WRITE,
    body=s.LocationIn,
    response=s.LocationOut,
    status=201,
    problems=(409,),
)
def create_location(body: s.LocationIn) -> s.LocationOut:
    request_pb = pb.CreateLocationRequest(code=body.code, name=body.name, is_default=body.is_default)
    return m.location_out(inventory().CreateLocation(request_pb).location)
