"""The outbound gRPC adapters of the pricing ports (like orders' inventory_client, they may import
generated code): base prices from catalog (GetVariantsBySku, in chunks of its 1,000-SKU limit) and
the SKUs listed on a connection from channels (ListListings, every page). Each call carries the
caller's signed identity and a deadline (`DeadlineStub(...).call(ctx)`)."""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from omnistock.catalog.v1 import catalog_service_pb2 as cat
from omnistock.catalog.v1 import catalog_service_pb2_grpc as cat_grpc
from omnistock.channels.v1 import channels_service_pb2 as ch
from omnistock.channels.v1 import channels_service_pb2_grpc as ch_grpc
from omnistock.common.v1 import common_pb2
from omnistock_common.clients import DeadlineStub, make_channel
from omnistock_common.context import CallContext
from omnistock_common.errors import DomainError, InvalidArgument, NotFound
from pricing.domain.model import BasePrice
from pricing.service.ports import UpstreamUnavailable

CATALOG_CHUNK = 1_000
LISTINGS_PAGE = 500
# A connection with more listings than this is refused rather than read forever.
MAX_LISTING_PAGES = 1_000


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

    def __init__(self, address: str, timeout: float) -> None:
        self.channel = make_channel(address)
        self.stub = DeadlineStub(cat_grpc.CatalogServiceStub(self.channel), timeout)

    def base_prices(self, ctx: CallContext, skus: Sequence[str]) -> dict[str, BasePrice]:
        out: dict[str, BasePrice] = {}
        for start in range(0, len(skus), CATALOG_CHUNK):
            request = cat.GetVariantsBySkuRequest(skus=list(skus[start : start + CATALOG_CHUNK]))
            try:
                reply = self.stub.call(ctx).GetVariantsBySku(request)
            except grpc.RpcError as exc:
                raise _error(exc, "catalog GetVariantsBySku") from None
            for variant in reply.variants:
                if variant.HasField("price") and variant.price.currency:
                    out[variant.sku] = BasePrice(variant.price.amount_minor, variant.price.currency)
        return out

    def close(self) -> None:
        self.channel.close()


class ChannelListings:
    """ListingsPort over channels' ListListings."""

    def __init__(self, address: str, timeout: float) -> None:
        self.channel = make_channel(address)
        self.stub = DeadlineStub(ch_grpc.ChannelsServiceStub(self.channel), timeout)

    def listed_skus(self, ctx: CallContext, connection_id: str) -> list[str]:
        skus: list[str] = []
        cursor = ""
        for _ in range(MAX_LISTING_PAGES):
            request = ch.ListListingsRequest(
                connection_id=connection_id, page=common_pb2.PageRequest(limit=LISTINGS_PAGE, cursor=cursor)
            )
            try:
                reply = self.stub.call(ctx).ListListings(request)
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
        self.channel.close()
