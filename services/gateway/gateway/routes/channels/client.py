"""The channels gRPC client of the channels routes (built by gateway.deps), and the call contexts."""

from __future__ import annotations

from flask import g

from gateway.api import call_context, deps
from gateway.deps import ChannelsClient
from gateway.errors import ApiProblem
from omnistock.channels.v1 import channels_service_pb2_grpc as pb_grpc
from omnistock_common.context import CallContext


def client() -> ChannelsClient:
    """503 when this gateway runs without a channels backend (only hand-built test deps do)."""
    channels = deps().channels
    if channels is None:
        raise ApiProblem(503, "the channels service is not configured")
    return channels


def channels() -> pb_grpc.ChannelsServiceStub:
    """The stub for this request: the caller's identity attached, the API's usual deadline."""
    return client().rpc.call(call_context())


def public_context() -> CallContext:
    """No tenant: the channels service identifies it from the connection / the signed state."""
    return CallContext(tenant_id="", request_id=getattr(g, "request_id", ""))
