"""Outbound gRPC adapter of publishing's sources (channels.publishing.PublishSources): the
catalog (GetProduct, GetVariantsBySku) says what a product is, pricing (ListPrices) what it costs
on one connection.

An edge adapter like catalog_client.py and import_clients.py: it builds and reads the generated
messages itself, so the publishing use cases see only publish_domain values. One channel per OS
thread (the worker publishes on OS threads, see omnistock_common.clients.PerThreadStub).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import grpc

from channels.connector_clients import failure_of
from channels.domain import ChannelUnavailable
from channels.price_domain import ChannelPrice, Money
from channels.publish_domain import ProductView, VariantView
from omnistock.catalog.v1 import catalog_service_pb2 as catalog_pb
from omnistock.catalog.v1 import catalog_service_pb2_grpc as catalog_grpc
from omnistock.pricing.v1 import pricing_service_pb2 as pricing_pb
from omnistock.pricing.v1 import pricing_service_pb2_grpc as pricing_grpc
from omnistock_common.clients import PerThreadStub
from omnistock_common.context import CallContext

# catalog.service MAX_SKUS_PER_LOOKUP
LOOKUP_CHUNK = 1000
STATUS_WORDS = {
    catalog_pb.PRODUCT_STATUS_ACTIVE: "active",
    catalog_pb.PRODUCT_STATUS_DRAFT: "draft",
    catalog_pb.PRODUCT_STATUS_ARCHIVED: "archived",
}


def _unavailable(what: str, err: grpc.RpcError) -> ChannelUnavailable:
    failure = failure_of(err)
    return ChannelUnavailable(f"{what} failed ({failure.code.name})", reason="PUBLISH_SOURCE_UNAVAILABLE")


def product_view(product: Any) -> ProductView:
    """A catalog Product message as the view a channel is asked to show."""
    return ProductView(
        product_id=product.id,
        title=product.title,
        description=product.description,
        status=STATUS_WORDS.get(product.status, "active"),
        version=int(product.version),
        variants=tuple(
            VariantView(
                sku=v.sku,
                barcode=v.barcode if v.HasField("barcode") else "",
                options=tuple((o.name, o.value) for o in v.options),
                weight_grams=v.weight_grams if v.HasField("weight_grams") else None,
            )
            for v in product.variants
        ),
        image_urls=tuple(product.image_urls),
    )


class GrpcPublishSources:
    """Catalog and pricing over one OS thread's channels (built per thread by PerThreadPublishSources)."""

    def __init__(self, catalog: Any, pricing: Any) -> None:
        self._catalog = catalog
        self._pricing = pricing

    def products(self, ctx: CallContext, product_ids: Sequence[str]) -> dict[str, ProductView | None]:
        """Each product at its current version; None for one the catalog does not have (deleted)."""
        found: dict[str, ProductView | None] = {}
        for product_id in product_ids:
            try:
                reply = self._catalog.call(ctx).GetProduct(
                    catalog_pb.GetProductRequest(product_id=product_id)
                )
            except grpc.RpcError as err:
                if err.code() == grpc.StatusCode.NOT_FOUND:  # type: ignore[attr-defined]
                    found[product_id] = None
                    continue
                raise _unavailable("reading the product from the catalog", err) from None
            found[product_id] = product_view(reply.product)
        return found

    def products_of_skus(self, ctx: CallContext, skus: Sequence[str]) -> dict[str, str]:
        """SKU -> its product id, for the SKUs the catalog has."""
        owners: dict[str, str] = {}
        for start in range(0, len(skus), LOOKUP_CHUNK):
            try:
                reply = self._catalog.call(ctx).GetVariantsBySku(
                    catalog_pb.GetVariantsBySkuRequest(skus=list(skus[start : start + LOOKUP_CHUNK]))
                )
            except grpc.RpcError as err:
                raise _unavailable("looking the SKUs up in the catalog", err) from None
            owners.update({v.sku: v.product_id for v in reply.variants})
        return owners

    def channel_prices(
        self, ctx: CallContext, connection_id: str, skus: Sequence[str]
    ) -> dict[str, ChannelPrice]:
        """The effective price of each SKU on the connection (set, on sale or derived by pricing);
        a SKU pricing cannot price is left out."""
        prices: dict[str, ChannelPrice] = {}
        for sku in skus:
            try:
                reply = self._pricing.call(ctx).ListPrices(
                    pricing_pb.ListPricesRequest(sku=sku, connection_id=connection_id)
                )
            except grpc.RpcError as err:
                raise _unavailable("reading the channel price from pricing", err) from None
            for item in reply.prices:
                if item.sku == sku and item.HasField("price"):
                    compare = (
                        Money(item.compare_at_price.amount_minor, item.compare_at_price.currency)
                        if item.HasField("compare_at_price")
                        else None
                    )
                    prices[sku] = ChannelPrice(Money(item.price.amount_minor, item.price.currency), compare)
        return prices


class PerThreadPublishSources:
    """GrpcPublishSources over one catalog and one pricing channel per OS thread."""

    def __init__(
        self,
        catalog_addr: str,
        pricing_addr: str,
        timeout: float,
        local_factory: Callable[[], Any] = threading.local,
        threads: ModuleType = threading,
    ) -> None:
        self._catalog = PerThreadStub(
            catalog_addr,
            timeout,
            catalog_grpc.CatalogServiceStub,
            local_factory=local_factory,
            threads=threads,
        )
        self._pricing = PerThreadStub(
            pricing_addr,
            timeout,
            pricing_grpc.PricingServiceStub,
            local_factory=local_factory,
            threads=threads,
        )

    def _sources(self) -> GrpcPublishSources:
        return GrpcPublishSources(self._catalog.get(), self._pricing.get())

    def products(self, ctx: CallContext, product_ids: Sequence[str]) -> dict[str, ProductView | None]:
        return self._sources().products(ctx, product_ids)

    def products_of_skus(self, ctx: CallContext, skus: Sequence[str]) -> dict[str, str]:
        return self._sources().products_of_skus(ctx, skus)

    def channel_prices(
        self, ctx: CallContext, connection_id: str, skus: Sequence[str]
    ) -> dict[str, ChannelPrice]:
        return self._sources().channel_prices(ctx, connection_id, skus)

    def close(self) -> None:
        self._catalog.close()
        self._pricing.close()
