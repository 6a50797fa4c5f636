"""One backend's gRPC client for a group of routes: one channel per app, two deadlines.

Why one class: the inventory, orders and pricing route groups each need the same thing (a channel
made when the blueprint is registered on an app, closed with the app's other dependencies, and the
stub with the API's usual deadline or the long one of bulk work), and three copies of it had begun
to drift in their docstrings only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import grpc
from flask import Flask, current_app
from flask.blueprints import BlueprintSetupState

from gateway.api import call_context
from omnistock_common.clients import DeadlineStub, make_channel

StubT = TypeVar("StubT")


@dataclass(frozen=True)
class BackendStubs(Generic[StubT]):
    """`setup` is the blueprint's record hook (tests build several apps, each gets its channel);
    `rpc()` and `bulk()` are the stub for the current request, with the caller's identity."""

    key: str
    make_stub: Callable[[grpc.Channel], StubT]
    address: Callable[[Any], str]
    # The usual deadline from the gateway's settings (GATEWAY_GRPC_TIMEOUT_SECONDS unless the
    # backend has its own); bulk work always has GATEWAY_BULK_TIMEOUT_SECONDS.
    timeout: Callable[[Any], float] = lambda settings: float(settings.grpc_timeout_seconds)

    def setup(self, state: BlueprintSetupState) -> None:
        app: Flask = state.app
        deps = app.extensions["omnistock"]
        settings = deps.settings
        channel = make_channel(self.address(settings))
        stub = self.make_stub(channel)
        app.extensions[self.key] = (
            DeadlineStub(stub, self.timeout(settings)),
            DeadlineStub(stub, settings.bulk_timeout_seconds),
        )
        deps.closers.append(channel.close)

    def rpc(self) -> StubT:
        usual: DeadlineStub[StubT] = current_app.extensions[self.key][0]
        return usual.call(call_context())

    def bulk(self) -> StubT:
        long: DeadlineStub[StubT] = current_app.extensions[self.key][1]
        return long.call(call_context())

    def bulk_binder(self) -> Callable[[], StubT]:
        """For calls made after the view returned (a streamed download reads page after page):
        each call of the result is the long-deadline stub with a freshly signed token of this
        request's caller, since one token lives two minutes and a long download outlives it."""
        long: DeadlineStub[StubT] = current_app.extensions[self.key][1]
        ctx = call_context()
        return lambda: long.call(ctx)
