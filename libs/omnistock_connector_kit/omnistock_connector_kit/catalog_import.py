"""Onboarding-import values every connector shares (no I/O, no generated code): whole products as a
channel lists them (ListRemoteProducts with include_catalog), with their variants and each
variant's current quantities.

Each connector's protocol reads its channel's answers into these; `values_proto.catalog_to_proto`
turns them into connector.v1's CatalogProduct / CatalogVariant / LocationQuantity, once for all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from omnistock_connector_kit.values import Amount

__all__ = ["CatalogProductData", "CatalogVariantData", "LevelData", "single_level"]


@dataclass(frozen=True)
class LevelData:
    """A variant's available quantity at one of the channel's locations (location_id "" where the
    channel has no locations)."""

    location_id: str
    available: int
    location_name: str = ""


def single_level(quantity: int | None) -> tuple[LevelData, ...]:
    """The levels of a channel without locations: one location-less level, or none when the channel
    does not track stock for the variant (quantity None)."""
    return () if quantity is None else (LevelData(location_id="", available=quantity),)


@dataclass(frozen=True)
class CatalogVariantData:
    external_id: str
    # The ids a listing maps this variant by (exactly what ListRemoteProducts gives for its SKU).
    ids: Mapping[str, str]
    sku: str
    title: str
    barcode: str
    # (option name, value) in the product's option order; empty for a product without options.
    options: tuple[tuple[str, str], ...]
    price: Amount | None
    # The "was" price shown struck through; None: none.
    compare_at: Amount | None = None
    weight_grams: int | None = None
    # Current quantities per location; empty when the channel does not track stock for it.
    levels: tuple[LevelData, ...] = ()


@dataclass(frozen=True)
class CatalogProductData:
    external_id: str
    title: str
    # Plain text or the channel's HTML, as the channel returns it.
    description: str
    # The channel's own word (ACTIVE, publish, BUYABLE, ...); the channels service reads it.
    status: str
    vendor: str = ""
    tags: tuple[str, ...] = ()
    # In the channel's order (never fetched by the import).
    image_urls: tuple[str, ...] = ()
    variants: tuple[CatalogVariantData, ...] = ()
