"""The outbound gRPC adapters of the pricing ports (like orders' inventory_client, they may import
generated code): base prices from catalog (GetVariantsBySku, in chunks of its 1,000-SKU limit) and
the SKUs listed on a connection from channels (ListListings, every page). Each call carries the
caller's signed identity and a deadline (`DeadlineStub(...).call(ctx)`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import grpc

from omnistock.catalog.v1 import catalog_service_pb2 as cat
from omnistock.catalog.v1 import catalog_service_pb2_grpc as cat_grpc
from omnistock.channels.v1 import channels_service_pb2 as ch
from omnistock.channels.v1 import channels_service_pb2_grpc as ch_grpc
from omnistock.common.v1 import common_pb2
from omnistock_common.clients import DeadlineStub, PerThreadStub, make_channel
from omnistock_common.context import CallContext
from omnistock_common.errors import DomainError, InvalidArgument, NotFound
from pricing.domain.model import BasePrice
from pricing.service.ports import UpstreamUnavailable

CATALOG_CHUNK = 1_000
_STATUS = {
    "active": cat.PRODUCT_STATUS_ACTIVE,
    "draft": cat.PRODUCT_STATUS_DRAFT,
    "archived": cat.PRODUCT_STATUS_ARCHIVED,
}
LISTINGS_PAGE = 500
# A connection with more listings than this is refused rather than read forever.
MAX_LISTING_PAGES = 1_000


class _Stubs:
    """One shared channel (a plain grpcio server process), or one per OS thread (`threads`: the
    worker passes eventlet's original threading; its calls run on tpool threads, where a shared
    channel deadlocks, docs/architecture.md "Events")."""

    def __init__(
        self,
        address: str,
        timeout: float,
        make_stub: Callable[[grpc.Channel], Any],
        threads: ModuleType | None,
    ) -> None:
        if threads is None:
            channel = make_channel(address)
            shared = DeadlineStub(make_stub(channel), timeout)
            self.get: Callable[[], DeadlineStub[Any]] = lambda: shared
            self.close: Callable[[], None] = channel.close
        else:
            per_thread = PerThreadStub(
                address, timeout, make_stub, local_factory=threads.local, threads=threads
            )
            self.get = per_thread.get
            self.close = per_thread.close


def _error(exc: grpc.RpcError, call: str) -> DomainError:
    code = exc.code() if isinstance(exc, grpc.Call) else grpc.StatusCode.UNKNOWN
    details = exc.details() if isinstance(exc, grpc.Call) else str(exc)
    message = f"{call}: {code.name} {details}"
    if code is grpc.StatusCode.NOT_FOUND:
        return NotFound(message)
    if code is grpc.StatusCode.INVALID_ARGUMENT:
        return InvalidArgument(message)
    return UpstreamUnavailable(message)


class CatalogPrices:
    """CatalogPort over catalog's GetVariantsBySku."""

    def __init__(self, address: str, timeout: float, *, threads: ModuleType | None = None) -> None:
        self.stubs = _Stubs(address, timeout, cat_grpc.CatalogServiceStub, threads)

    def base_prices(self, ctx: CallContext, skus: Sequence[str]) -> dict[str, BasePrice]:
        out: dict[str, BasePrice] = {}
        for start in range(0, len(skus), CATALOG_CHUNK):
            request = cat.GetVariantsBySkuRequest(skus=list(skus[start : start + CATALOG_CHUNK]))
            try:
                reply = self.stubs.get().call(ctx).GetVariantsBySku(request)
            except grpc.RpcError as exc:
                raise _error(exc, "catalog GetVariantsBySku") from None
            for variant in reply.variants:
                if variant.HasField("price") and variant.price.currency:
                    out[variant.sku] = BasePrice(variant.price.amount_minor, variant.price.currency)
        return out

    def skus_with_status(self, ctx: CallContext, status: str) -> set[str]:
        wanted = _STATUS[status]
        skus: set[str] = set()
        cursor = ""
        for _ in range(MAX_LISTING_PAGES):
            request = cat.ListProductsRequest(
                status=wanted, page=common_pb2.PageRequest(limit=500, cursor=cursor)
            )
            try:
                reply = self.stubs.get().call(ctx).ListProducts(request)
            except grpc.RpcError as exc:
                raise _error(exc, "catalog ListProducts") from None
            skus.update(v.sku for p in reply.products if p.status == wanted for v in p.variants)
            cursor = reply.page.next_cursor
            if not cursor:
                return skus
        raise InvalidArgument("too many products for a status filter")

    def close(self) -> None:
        self.stubs.close()


class ChannelListings:
    """ListingsPort over channels' ListListings."""

    def __init__(self, address: str, timeout: float, *, threads: ModuleType | None = None) -> None:
        self.stubs = _Stubs(address, timeout, ch_grpc.ChannelsServiceStub, threads)

    def listed_skus(self, ctx: CallContext, connection_id: str) -> list[str]:
        skus: list[str] = []
        cursor = ""
        for _ in range(MAX_LISTING_PAGES):
            request = ch.ListListingsRequest(
                connection_id=connection_id, page=common_pb2.PageRequest(limit=LISTINGS_PAGE, cursor=cursor)
            )
            try:
                reply = self.stubs.get().call(ctx).ListListings(request)
            except grpc.RpcError as exc:
                raise _error(exc, "channels ListListings") from None
            skus.extend(listing.sku for listing in reply.listings if listing.sku)
            cursor = reply.page.next_cursor
            if not cursor:
                return skus
        raise InvalidArgument(
            f"connection {connection_id} has more than {MAX_LISTING_PAGES * LISTINGS_PAGE} listings"
        )

    def close(self) -> None:
        self.stubs.close()
