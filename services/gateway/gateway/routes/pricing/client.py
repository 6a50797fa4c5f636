"""The pricing gRPC client of the pricing routes (gateway.backend_stubs)."""

from __future__ import annotations

from gateway.backend_stubs import BackendStubs
from omnistock.pricing.v1 import pricing_service_pb2_grpc as pb_grpc

_stubs = BackendStubs("omnistock.pricing", pb_grpc.PricingServiceStub, lambda s: s.pricing_addr)
setup = _stubs.setup


def pricing() -> pb_grpc.PricingServiceStub:
    """The stub for this request: the caller's identity attached, the API's usual deadline."""
    return _stubs.rpc()


def pricing_bulk() -> pb_grpc.PricingServiceStub:
    """As pricing(), with the long deadline of bulk changes and FX re-pricing (each may touch
    every price of a connection)."""
    return _stubs.bulk()
