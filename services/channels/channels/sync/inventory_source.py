"""Where the sync engine reads current stock figures: the inventory service over gRPC.

Requeued SKUs (whose figure Redis no longer holds) and reconciliation need what OmniStock says
NOW; `InventoryPort` is that question, `GrpcInventory` asks inventory.GetSkuStock.

Layering: `GrpcInventory` is the outbound gRPC adapter of that port, so it may use the generated
inventory messages itself; the sync jobs see only `InventoryPort` and `SkuFigure`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol

import grpc

from omnistock.inventory.v1 import inventory_service_pb2 as inv_pb
from omnistock.inventory.v1 import inventory_service_pb2_grpc as inv_grpc
from omnistock_common.clients import PerThreadStub
from omnistock_common.context import CallContext


@dataclass(frozen=True)
class SkuFigure:
    """What OmniStock says of one SKU now: `available`, and per connection with an allocation rule."""

    available: int
    per_connection: Mapping[str, int]

    def for_connection(self, connection_id: str) -> int:
        return max(0, int(self.per_connection.get(connection_id, self.available)))


class InventoryPort(Protocol):
    def figures(self, tenant_id: str, skus: Sequence[str]) -> dict[str, SkuFigure]: ...


class GrpcInventory:
    """inventory.GetSkuStock per SKU with the tenant's CallContext. One channel + stub per OS
    thread (`local_factory`), because the worker calls it from eventlet's tpool threads where a
    shared channel deadlocks (DESIGN, Events)."""

    def __init__(
        self,
        address: str,
        timeout: float,
        local_factory: Callable[[], Any] = threading.local,
        threads: ModuleType = threading,
    ) -> None:
        self._stubs = PerThreadStub(
            address, timeout, inv_grpc.InventoryServiceStub, local_factory=local_factory, threads=threads
        )

    def figures(self, tenant_id: str, skus: Sequence[str]) -> dict[str, SkuFigure]:
        """SKUs inventory does not know are left out (a lookup miss must never zero a channel)."""
        ctx = CallContext(tenant_id=tenant_id)
        found: dict[str, SkuFigure] = {}
        for sku in dict.fromkeys(skus):
            try:
                reply = self._stubs.get().call(ctx).GetSkuStock(inv_pb.GetSkuStockRequest(sku=sku))
            except grpc.RpcError as err:
                if isinstance(err, grpc.Call) and err.code() is grpc.StatusCode.NOT_FOUND:
                    continue
                raise
            found[sku] = SkuFigure(
                int(reply.available), {c.connection_id: int(c.available_to_sell) for c in reply.channels}
            )
        return found

    def close(self) -> None:
        self._stubs.close()


__all__ = ["GrpcInventory", "InventoryPort", "SkuFigure"]
