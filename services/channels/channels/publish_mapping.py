"""proto <-> domain for publishing (channels.publishing): the connector's UpsertProducts and
ArchiveProducts messages and the channels service's product listings. Split by job from
mapping.py (which keeps the job result's form, like every job's)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from channels.mapping import ConnectionContext, item_outcome, money_out
from channels.publish_domain import ProductListing, ProductOutcome, ProductView
from omnistock.channels.v1 import channels_service_pb2 as pb
from omnistock.connector.v1 import connector_service_pb2 as cpb
from omnistock_common.egress import safe_text


def product_listing_out(listing: ProductListing) -> pb.ProductListing:
    return pb.ProductListing(
        connection_id=listing.connection_id,
        product_id=listing.product_id,
        external_id=listing.external_id,
        state=listing.state,
        wanted_version=listing.wanted_version,
        published_version=listing.published_version,
        last_error=listing.last_error,
    )


def _catalog_product_out(
    view: ProductView, external_id: str, variant_ids: Mapping[str, str]
) -> cpb.CatalogProduct:
    return cpb.CatalogProduct(
        external_id=external_id,
        title=view.title,
        description=view.description,
        status=view.status,
        image_urls=list(view.image_urls),
        variants=[
            cpb.CatalogVariant(
                external_id=variant_ids.get(v.sku, ""),
                sku=v.sku,
                barcode=v.barcode,
                options=[cpb.OptionValue(name=name, value=value) for name, value in v.options],
                price=money_out(v.price.price) if v.price else None,
                compare_at_price=money_out(v.price.compare_at) if v.price and v.price.compare_at else None,
                weight_grams=v.weight_grams,
                title=" / ".join(value for _, value in v.options),
            )
            for v in view.variants
        ],
    )


def upsert_products_request(
    context: ConnectionContext,
    items: Iterable[tuple[ProductView, str, Mapping[str, str]]],
    owned_fields: Iterable[str],
) -> cpb.UpsertProductsRequest:
    """(product, the channel's product id or "", SKU -> the channel's variant id) per product."""
    owned = list(owned_fields)
    return cpb.UpsertProductsRequest(
        connection=context,
        products=[
            cpb.ProductUpsert(
                product_id=view.product_id,
                product=_catalog_product_out(view, external_id, variant_ids),
                owned_fields=owned,
            )
            for view, external_id, variant_ids in items
        ],
    )


def archive_products_request(
    context: ConnectionContext, items: Iterable[tuple[str, str]]
) -> cpb.ArchiveProductsRequest:
    """(product id, the channel's product id) per product."""
    return cpb.ArchiveProductsRequest(
        connection=context,
        products=[cpb.ProductRef(product_id=pid, external_id=eid) for pid, eid in items],
    )


def product_outcomes(reply: Any) -> list[ProductOutcome]:
    """UpsertProducts' or ArchiveProducts' per-product results; the channel's words are kept
    printable and short (they are shown to the merchant)."""
    return [
        ProductOutcome(
            product_id=result.product_id,
            outcome=item_outcome(result.outcome),
            message=safe_text(result.message, 500),
            external_id=result.external_id,
            variants={v.sku: (v.external_id, dict(v.remote.ids)) for v in result.variants if v.sku},
        )
        for result in reply.results
    ]
