"""The orders gRPC client of the orders routes (gateway.backend_stubs)."""

from __future__ import annotations

from gateway.backend_stubs import BackendStubs
from omnistock.orders.v1 import orders_service_pb2_grpc as pb_grpc

# GATEWAY_ORDERS_TIMEOUT_SECONDS for reads and writes: a write reserves, commits or releases
# stock in inventory before it answers.
_stubs = BackendStubs(
    "omnistock.orders",
    pb_grpc.OrdersServiceStub,
    lambda s: s.orders_addr,
    lambda s: float(s.orders_timeout_seconds),
)
setup = _stubs.setup


def orders() -> pb_grpc.OrdersServiceStub:
    """The stub for this request: the caller's identity attached, the orders deadline."""
    return _stubs.rpc()


def orders_bulk() -> pb_grpc.OrdersServiceStub:
    """As orders(), with the long deadline of the export stream."""
    return _stubs.bulk()
