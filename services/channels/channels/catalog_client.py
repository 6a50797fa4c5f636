"""Outbound gRPC adapter of the catalog port (deps.CatalogPort).

An edge adapter like connector_clients.py and sync/inventory_source.py: it builds and reads the
catalog's generated messages itself, so the listing use cases never see them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

import grpc

from channels.connector_clients import failure_of
from channels.deps import MAX_LIMIT
from channels.domain import ChannelUnavailable
from omnistock.catalog.v1 import catalog_service_pb2 as catalog_pb
from omnistock.catalog.v1 import catalog_service_pb2_grpc as catalog_grpc
from omnistock.common.v1 import common_pb2
from omnistock_common.clients import DeadlineStub, PerThreadStub
from omnistock_common.context import CallContext


class GrpcCatalog:
    """Every SKU of the caller's tenant, paged through catalog.ListProducts."""

    def __init__(self, stub: DeadlineStub[catalog_grpc.CatalogServiceStub]) -> None:
        self._stub = stub

    def all_skus(self, ctx: CallContext) -> list[str]:
        skus: list[str] = []
        cursor = ""
        try:
            while True:
                reply = self._stub.call(ctx).ListProducts(
                    catalog_pb.ListProductsRequest(
                        page=common_pb2.PageRequest(limit=MAX_LIMIT, cursor=cursor)
                    )
                )
                skus.extend(v.sku for p in reply.products for v in p.variants)
                cursor = reply.page.next_cursor
                if not cursor:
                    return skus
        except grpc.RpcError as err:
            failure = failure_of(err)
            raise ChannelUnavailable(
                f"the catalog could not list SKUs ({failure.code.name}); pass the SKUs explicitly or retry",
                reason="CATALOG_UNAVAILABLE",
            ) from None


class PerThreadCatalog:
    """A GrpcCatalog over one channel per OS thread (`local_factory`, `threads`: see
    omnistock_common.clients.PerThreadStub): the worker runs jobs on OS threads."""

    def __init__(
        self,
        address: str,
        timeout: float,
        local_factory: Callable[[], Any] = threading.local,
        threads: ModuleType = threading,
    ) -> None:
        self._stubs = PerThreadStub(
            address, timeout, catalog_grpc.CatalogServiceStub, local_factory=local_factory, threads=threads
        )

    def all_skus(self, ctx: CallContext) -> list[str]:
        return GrpcCatalog(self._stubs.get()).all_skus(ctx)

    def close(self) -> None:
        self._stubs.close()
