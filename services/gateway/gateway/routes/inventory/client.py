"""The inventory gRPC client of the inventory routes: one channel per app, two deadlines."""

from __future__ import annotations

from flask import Flask, current_app
from flask.blueprints import BlueprintSetupState

from gateway.api import call_context
from omnistock.inventory.v1 import inventory_service_pb2_grpc as pb_grpc
from omnistock_common.clients import DeadlineStub, make_channel

_CLIENT_KEY = "omnistock.inventory"


class InventoryClient:
    """The inventory stub twice: the API's usual deadline, and a long one for batch adjustments."""

    def __init__(self, address: str, timeout: float, bulk_timeout: float) -> None:
        self.channel = make_channel(address)
        stub = pb_grpc.InventoryServiceStub(self.channel)
        self.rpc: DeadlineStub[pb_grpc.InventoryServiceStub] = DeadlineStub(stub, timeout)
        self.bulk: DeadlineStub[pb_grpc.InventoryServiceStub] = DeadlineStub(stub, bulk_timeout)


def setup(state: BlueprintSetupState) -> None:
    """Per app (tests build several): one inventory channel, closed with the app's other deps."""
    app: Flask = state.app
    deps = app.extensions["omnistock"]
    client = InventoryClient(
        deps.settings.inventory_addr, deps.settings.grpc_timeout_seconds, deps.settings.bulk_timeout_seconds
    )
    app.extensions[_CLIENT_KEY] = client
    deps.closers.append(client.channel.close)


def inventory() -> pb_grpc.InventoryServiceStub:
    """The stub for this request: the caller's identity attached, the API's usual deadline."""
    return current_app.extensions[_CLIENT_KEY].rpc.call(call_context())


def inventory_bulk() -> pb_grpc.InventoryServiceStub:
    """As inventory(), with the long deadline of batch adjustments."""
    return current_app.extensions[_CLIENT_KEY].bulk.call(call_context())
