"""Reservations: hold stock for an order (all lines or none), then commit or release the hold."""

from __future__ import annotations

from flask import request

from gateway import inventory_schemas as s
from gateway.api import RouteGroup
from gateway.domain import Permission
from gateway.inputs import idempotency_key, parse_body
from gateway.mapping import inventory as m
from gateway.routes.inventory.client import inventory
from gateway.schemas import INT64_MAX
from omnistock.inventory.v1 import inventory_service_pb2 as pb

routes = RouteGroup()

# The commit body is optional, so it is parsed in the view and documented by hand.
_COMMIT_BODY = {
    "application/json": {
        "schema": {
            "type": "object",
            "properties": {
                "lines": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "sku": {"type": "string", "minLength": 1, "maxLength": 128},
                            "quantity": {"type": "integer", "minimum": 1, "maximum": INT64_MAX},
                        },
                        "required": ["sku", "quantity"],
                    },
                }
            },
        }
    }
}


@routes.route(
    "POST",
    "/reservations",
    summary="Reserve stock",
    permission=Permission.INVENTORY_WRITE,
    body=s.ReservationIn,
    response=s.ReservationOut,
    status=201,
    problems=(404, 409),
    idempotency_key=True,
)
def reserve(body: s.ReservationIn) -> s.ReservationOut:
    """All lines or none. 409 with `lines: [{sku, requested, available}]` when any line is short.
    An `Idempotency-Key` header makes a repeat return the first reservation and never hold twice."""
    response = inventory().Reserve(m.reserve_request(body, idempotency_key()))
    return m.reservation_out(response.reservation)


@routes.route(
    "POST",
    "/reservations/<reservation_id>/commit",
    summary="Commit a reservation",
    permission=Permission.INVENTORY_WRITE,
    response=s.ReservationOut,
    problems=(400, 409),
    request_content=_COMMIT_BODY,
    idempotency_key=True,
)
def commit_reservation(reservation_id: str) -> s.ReservationOut:
    """Deducts on_hand and frees the hold. Optional body `{lines: [{sku, quantity}]}` commits part
    of it (partial shipment); without it everything still held is committed."""
    body = parse_body(s.CommitIn) if request.get_data() else s.CommitIn()
    response = inventory().CommitReservation(m.commit_request(reservation_id, body, idempotency_key()))
    return m.reservation_out(response.reservation)


@routes.route(
    "POST",
    "/reservations/<reservation_id>/release",
    summary="Release a reservation",
    permission=Permission.INVENTORY_WRITE,
    response=s.ReservationOut,
    problems=(409,),
)
def release_reservation(reservation_id: str) -> s.ReservationOut:
    response = inventory().ReleaseReservation(pb.ReleaseReservationRequest(reservation_id=reservation_id))
    return m.reservation_out(response.reservation)


@routes.route(
    "GET",
    "/reservations/<reservation_id>",
    summary="Get a reservation",
    permission=Permission.INVENTORY_READ,
    response=s.ReservationOut,
)
def get_reservation(reservation_id: str) -> s.ReservationOut:
    response = inventory().GetReservation(pb.GetReservationRequest(reservation_id=reservation_id))
    return m.reservation_out(response.reservation)
