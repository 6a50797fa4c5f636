"""The orders gRPC client of the orders routes: one channel per app, two deadlines."""

from __future__ import annotations

from flask import Flask, current_app
from flask.blueprints import BlueprintSetupState

from gateway.api import call_context
from omnistock.orders.v1 import orders_service_pb2_grpc as pb_grpc
from omnistock_common.clients import DeadlineStub, make_channel

_CLIENT_KEY = "omnistock.orders"


class OrdersClient:
    """The orders stub twice: GATEWAY_ORDERS_TIMEOUT_SECONDS for reads and writes (a write reserves,
    commits or releases stock in inventory before it answers), the bulk deadline for the export."""

    def __init__(self, address: str, timeout: float, bulk_timeout: float) -> None:
        self.channel = make_channel(address)
        stub = pb_grpc.OrdersServiceStub(self.channel)
        self.rpc: DeadlineStub[pb_grpc.OrdersServiceStub] = DeadlineStub(stub, timeout)
        self.bulk: DeadlineStub[pb_grpc.OrdersServiceStub] = DeadlineStub(stub, bulk_timeout)


def setup(state: BlueprintSetupState) -> None:
    """Per app (tests build several): one orders channel, closed with the app's other deps."""
    app: Flask = state.app
    deps = app.extensions["omnistock"]
    settings = deps.settings
    client = OrdersClient(
        settings.orders_addr, settings.orders_timeout_seconds, settings.bulk_timeout_seconds
    )
    app.extensions[_CLIENT_KEY] = client
    deps.closers.append(client.channel.close)


def orders() -> pb_grpc.OrdersServiceStub:
    """The stub for this request: the caller's identity attached, the orders deadline."""
    return current_app.extensions[_CLIENT_KEY].rpc.call(call_context())


def orders_bulk() -> pb_grpc.OrdersServiceStub:
    """As orders(), with the long deadline of the export stream."""
    return current_app.extensions[_CLIENT_KEY].bulk.call(call_context())
