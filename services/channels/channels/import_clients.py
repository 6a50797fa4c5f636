"""Outbound gRPC adapter of the onboarding import's targets (deps.ImportTargets): catalog
(GetVariantsBySku, GetProduct, BulkUpsertVariants) and inventory (BatchAdjust, reason IMPORTED).

An edge adapter like catalog_client.py: it builds and reads the generated messages itself, so
channels.catalog_import sees only plain values. One channel per OS thread (the worker runs jobs on
OS threads, see omnistock_common.clients.PerThreadStub).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import Any

import grpc
from google.protobuf import field_mask_pb2

from channels.catalog_import_domain import ExistingVariant, Money, VariantWrite
from channels.connector_clients import failure_of
from channels.domain import ChannelUnavailable
from omnistock.catalog.v1 import catalog_service_pb2 as catalog_pb
from omnistock.catalog.v1 import catalog_service_pb2_grpc as catalog_grpc
from omnistock.common.v1 import common_pb2
from omnistock.inventory.v1 import inventory_service_pb2 as inv_pb
from omnistock.inventory.v1 import inventory_service_pb2_grpc as inv_grpc
from omnistock_common.clients import PerThreadStub
from omnistock_common.context import CallContext

# Catalog's limits per call (catalog.service MAX_SKUS_PER_LOOKUP, MAX_BULK_ITEMS).
LOOKUP_CHUNK = 1000
UPSERT_CHUNK = 500
MAX_DESCRIPTION = 10_000
STATUSES = {
    "active": catalog_pb.PRODUCT_STATUS_ACTIVE,
    "draft": catalog_pb.PRODUCT_STATUS_DRAFT,
    "archived": catalog_pb.PRODUCT_STATUS_ARCHIVED,
}


def _money_out(money: Money | None) -> common_pb2.Money | None:
    return (
        None if money is None else common_pb2.Money(amount_minor=money.amount_minor, currency=money.currency)
    )


def _money_in(message: common_pb2.Money, present: bool) -> Money | None:
    return Money(message.amount_minor, message.currency) if present and message.currency else None


def variant_upsert(write: VariantWrite) -> catalog_pb.VariantUpsert:
    """A catalog VariantUpsert; barcode and weight left out when unknown (the catalog then keeps
    an existing value), price and options always given (they replace)."""
    variant = catalog_pb.VariantInput(
        sku=write.sku,
        price=_money_out(write.price),
        options=[catalog_pb.VariantOption(name=n, value=v) for n, v in write.options],
    )
    if write.barcode:
        variant.barcode = write.barcode
    if write.weight_grams is not None:
        variant.weight_grams = write.weight_grams
    return catalog_pb.VariantUpsert(
        product_title=write.product_title,
        product_status=STATUSES.get(write.product_status, catalog_pb.PRODUCT_STATUS_UNSPECIFIED),
        variant=variant,
    )


def _unavailable(what: str, err: grpc.RpcError) -> ChannelUnavailable:
    failure = failure_of(err)
    return ChannelUnavailable(
        f"{what} failed ({failure.code.name}); the import resumes", reason="IMPORT_TARGET"
    )


class GrpcImportTargets:
    def __init__(
        self,
        catalog_addr: str,
        inventory_addr: str,
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
        self._inventory = PerThreadStub(
            inventory_addr,
            timeout,
            inv_grpc.InventoryServiceStub,
            local_factory=local_factory,
            threads=threads,
        )

    def existing(self, ctx: CallContext, skus: Sequence[str]) -> dict[str, ExistingVariant]:
        wanted = list(dict.fromkeys(skus))
        variants: list[Any] = []
        try:
            stub = self._catalog.get()
            for start in range(0, len(wanted), LOOKUP_CHUNK):
                reply = stub.call(ctx).GetVariantsBySku(
                    catalog_pb.GetVariantsBySkuRequest(skus=wanted[start : start + LOOKUP_CHUNK])
                )
                variants.extend(reply.variants)
            titles = {}
            for product_id in dict.fromkeys(v.product_id for v in variants):
                titles[product_id] = (
                    stub.call(ctx)
                    .GetProduct(catalog_pb.GetProductRequest(product_id=product_id))
                    .product.title
                )
        except grpc.RpcError as err:
            raise _unavailable("reading the catalog", err) from None
        return {
            v.sku: ExistingVariant(
                sku=v.sku,
                product_title=titles.get(v.product_id, ""),
                price=_money_in(v.price, v.HasField("price")),
                barcode=v.barcode if v.HasField("barcode") else "",
                options=tuple((o.name, o.value) for o in v.options),
                weight_grams=v.weight_grams if v.HasField("weight_grams") else None,
            )
            for v in variants
        }

    def upsert(self, ctx: CallContext, writes: Sequence[VariantWrite]) -> list[str]:
        errors: list[str] = []
        try:
            stub = self._catalog.get()
            for start in range(0, len(writes), UPSERT_CHUNK):
                chunk = writes[start : start + UPSERT_CHUNK]
                reply = stub.call(ctx).BulkUpsertVariants(
                    catalog_pb.BulkUpsertVariantsRequest(items=[variant_upsert(w) for w in chunk])
                )
                errors.extend(
                    f"{r.sku}: {r.field} {r.error_message}".strip()
                    for r in reply.results
                    if r.outcome == catalog_pb.UPSERT_OUTCOME_FAILED
                )
                described = {
                    r.product_id: (chunk[r.index].description[:MAX_DESCRIPTION], chunk[r.index].image_urls)
                    for r in reply.results
                    if r.outcome == catalog_pb.UPSERT_OUTCOME_CREATED
                    and (chunk[r.index].description or chunk[r.index].image_urls)
                }
                for product_id, (description, image_urls) in described.items():
                    self._describe(stub, ctx, product_id, description, image_urls)
        except grpc.RpcError as err:
            raise _unavailable("writing the catalog", err) from None
        return errors

    @staticmethod
    def _describe(
        stub: Any, ctx: CallContext, product_id: str, description: str, image_urls: Sequence[str]
    ) -> None:
        """Fill the description and the image URLs of a product that has none (one the import
        created), never overwrite OmniStock's."""
        product = stub.call(ctx).GetProduct(catalog_pb.GetProductRequest(product_id=product_id)).product
        paths = [
            name
            for name, given, have in (
                ("description", description, product.description),
                ("image_urls", image_urls, product.image_urls),
            )
            if given and not have
        ]
        if not paths:
            return
        try:
            stub.call(ctx).UpdateProduct(
                catalog_pb.UpdateProductRequest(
                    product_id=product_id,
                    product=catalog_pb.Product(description=description, image_urls=image_urls),
                    update_mask=field_mask_pb2.FieldMask(paths=paths),
                    expected_version=product.version,
                )
            )
        except grpc.RpcError as err:
            if err.code() is not grpc.StatusCode.ABORTED:  # someone edited it meanwhile: theirs stays
                raise

    def set_quantities(
        self,
        ctx: CallContext,
        quantities: Mapping[str, int],
        *,
        note: str,
        reference: str,
        idempotency_key: str,
    ) -> tuple[int, list[str]]:
        if not quantities:
            return 0, []
        lines = [
            inv_pb.AdjustmentLine(
                sku=sku,
                set=quantity,
                reason=inv_pb.ADJUSTMENT_REASON_IMPORTED,
                note=note,
                reference=reference,
            )
            for sku, quantity in sorted(quantities.items())
        ]
        try:
            reply = (
                self._inventory.get()
                .call(ctx)
                .BatchAdjust(inv_pb.BatchAdjustRequest(lines=lines, idempotency_key=idempotency_key))
            )
        except grpc.RpcError as err:
            raise _unavailable("setting quantities", err) from None
        errors = [
            f"{lines[r.index].sku}: {r.error.message}"
            for r in reply.results
            if r.WhichOneof("result") == "error"
        ]
        return int(reply.applied), errors

    def close(self) -> None:
        self._catalog.close()
        self._inventory.close()
