"""The pricing gRPC client of the pricing routes: one channel per app, two deadlines."""

from __future__ import annotations

from flask import Flask, current_app
from flask.blueprints import BlueprintSetupState

from gateway.api import call_context
from omnistock.pricing.v1 import pricing_service_pb2_grpc as pb_grpc
from omnistock_common.clients import DeadlineStub, make_channel

_CLIENT_KEY = "omnistock.pricing"


class PricingClient:
    """The pricing stub twice: the API's usual deadline, and the bulk one for previews, applies
    and FX changes (each may touch every price of a connection)."""

    def __init__(self, address: str, timeout: float, bulk_timeout: float) -> None:
        self.channel = make_channel(address)
        stub = pb_grpc.PricingServiceStub(self.channel)
        self.rpc: DeadlineStub[pb_grpc.PricingServiceStub] = DeadlineStub(stub, timeout)
        self.bulk: DeadlineStub[pb_grpc.PricingServiceStub] = DeadlineStub(stub, bulk_timeout)


def setup(state: BlueprintSetupState) -> None:
    """Per app (tests build several): one pricing channel, closed with the app's other deps."""
    app: Flask = state.app
    deps = app.extensions["omnistock"]
    settings = deps.settings
    client = PricingClient(
        settings.pricing_addr, settings.grpc_timeout_seconds, settings.bulk_timeout_seconds
    )
    app.extensions[_CLIENT_KEY] = client
    deps.closers.append(client.channel.close)


def pricing() -> pb_grpc.PricingServiceStub:
    """The stub for this request: the caller's identity attached, the API's usual deadline."""
    return current_app.extensions[_CLIENT_KEY].rpc.call(call_context())


def pricing_bulk() -> pb_grpc.PricingServiceStub:
    """As pricing(), with the long deadline of bulk changes and FX re-pricing."""
    return current_app.extensions[_CLIENT_KEY].bulk.call(call_context())
