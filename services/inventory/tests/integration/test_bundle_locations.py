"""A bundle's availability is computed per location and then summed (issue 14), through the real
gRPC server on SQLite and PostgreSQL: GetSkuStock, the stock_changed event and a reservation."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from inventory import service
from inventory.repository import UnitOfWork
from omnistock.inventory.v1 import inventory_service_pb2 as pb


def _set(client: Any, sku: str, qty: int, location: str) -> None:
    line = pb.AdjustmentLine(
        sku=sku, set=qty, reason=pb.ADJUSTMENT_REASON_CYCLE_COUNT, location_code=location
    )
    client.Adjust(pb.AdjustRequest(line=line))


def _kit(client: Any) -> pb.GetSkuStockResponse:
    return client.GetSkuStock(pb.GetSkuStockRequest(sku="KIT"))


def _last_kit_event(uow: UnitOfWork) -> dict[str, Any]:
    with uow.transaction() as repo:
        events = [p for _id, kind, p in repo.outbox_rows("tenant-a") if kind == service.STOCK_CHANGED]
    return next(entry for entry in events[-1]["skus"] if entry["sku"] == "KIT")


def test_components_at_different_locations_make_no_bundle(client: Any, uow: UnitOfWork) -> None:
    for code in ("east", "west"):
        client.CreateLocation(pb.CreateLocationRequest(code=code, name=code))
    kit = [pb.BundleComponent(sku="CUP", quantity=2), pb.BundleComponent(sku="LID", quantity=1)]
    client.PutBundle(pb.PutBundleRequest(sku="KIT", components=kit))
    _set(client, "CUP", 10, "east")
    _set(client, "LID", 5, "west")
    # The totals (CUP 10, LID 5) would say 5 kits; the cups and lids are never at one location.
    assert (_kit(client).on_hand, _kit(client).available) == (0, 0)
    assert _last_kit_event(uow)["available"] == 0

    _set(client, "LID", 1, "east")  # east: min(10 // 2, 1) = 1 kit
    _set(client, "CUP", 4, "west")  # west: min(4 // 2, 5) = 2 kits
    figures = _kit(client)
    assert (figures.on_hand, figures.reserved, figures.available) == (3, 0, 3)
    assert _last_kit_event(uow)["available"] == 3

    # A reservation of 2 kits at east is refused (east assembles 1), at west it is held.
    east = pb.ReserveRequest(
        order_ref="o-east", lines=[pb.ReservationLineInput(sku="KIT", quantity=2, location_code="east")]
    )
    with pytest.raises(grpc.RpcError) as refused:
        client.Reserve(east)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    west = pb.ReserveRequest(
        order_ref="o-west", lines=[pb.ReservationLineInput(sku="KIT", quantity=2, location_code="west")]
    )
    client.Reserve(west)
    figures = _kit(client)
    assert (figures.on_hand, figures.reserved, figures.available) == (3, 2, 1)
    assert _last_kit_event(uow)["available"] == 1
