"""The inventory gRPC client of the inventory routes (gateway.backend_stubs)."""

from __future__ import annotations

from collections.abc import Callable

from gateway.backend_stubs import BackendStubs
from omnistock.inventory.v1 import inventory_service_pb2_grpc as pb_grpc

_stubs = BackendStubs("omnistock.inventory", pb_grpc.InventoryServiceStub, lambda s: s.inventory_addr)
setup = _stubs.setup


def inventory() -> pb_grpc.InventoryServiceStub:
    """The stub for this request: the caller's identity attached, the API's usual deadline."""
    return _stubs.rpc()


def inventory_bulk() -> pb_grpc.InventoryServiceStub:
    """As inventory(), with the long deadline of batch adjustments."""
    return _stubs.bulk()


def inventory_binder() -> Callable[[], pb_grpc.InventoryServiceStub]:
    """inventory_bulk() for calls made while a response streams (BackendStubs.bulk_binder)."""
    return _stubs.bulk_binder()
