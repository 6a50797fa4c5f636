"""gRPC clients of the backends, built once per process in the composition root.

Channels are lazy (no I/O until the first call) and shared by all request threads; every stub is
wrapped in DeadlineStub so no call can wait forever, and `.call(ctx)` forwards the caller's
tenant, user, role and request id as metadata.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from omnistock.catalog.v1 import catalog_service_pb2_grpc
from omnistock_common.clients import DeadlineStub, make_channel

log = logging.getLogger(__name__)


class Channels:
    """One channel per distinct address, closed together at shutdown."""

    def __init__(self) -> None:
        self._channels: dict[str, grpc.Channel] = {}

    def get(self, address: str) -> grpc.Channel:
        if address not in self._channels:
            self._channels[address] = make_channel(address)
        return self._channels[address]

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()
        self._channels.clear()


@dataclass(frozen=True)
class CatalogClient:
    """The catalog stub twice: short deadline for CRUD, long deadline for import/export streams."""

    rpc: DeadlineStub[catalog_service_pb2_grpc.CatalogServiceStub]
    bulk: DeadlineStub[catalog_service_pb2_grpc.CatalogServiceStub]


def catalog_client(channel: grpc.Channel, timeout: float, bulk_timeout: float) -> CatalogClient:
    stub = catalog_service_pb2_grpc.CatalogServiceStub(channel)
    return CatalogClient(rpc=DeadlineStub(stub, timeout), bulk=DeadlineStub(stub, bulk_timeout))


class ReadinessProbe:
    """Asks every backend's grpc.health.v1 service whether it is SERVING, all in parallel."""

    def __init__(self, backends: Mapping[str, grpc.Channel], timeout: float) -> None:
        self._stubs = {name: health_pb2_grpc.HealthStub(channel) for name, channel in backends.items()}
        self._timeout = timeout

    def check(self) -> dict[str, str]:
        """name → "SERVING" or the reason it is not (NOT_SERVING, UNAVAILABLE, DEADLINE_EXCEEDED...)."""
        futures = {
            name: stub.Check.future(
                health_pb2.HealthCheckRequest(service=""), timeout=self._timeout, wait_for_ready=False
            )
            for name, stub in self._stubs.items()
        }
        results: dict[str, str] = {}
        for name, future in futures.items():
            try:
                response = future.result()
                results[name] = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
            except grpc.RpcError as err:
                code = err.code() if isinstance(err, grpc.Call) else grpc.StatusCode.UNKNOWN
                results[name] = code.name
        return results
