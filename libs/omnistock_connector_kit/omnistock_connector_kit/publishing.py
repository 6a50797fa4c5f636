"""Publishing values every connector shares (no I/O, no generated code): a product to create or
update on a channel, with its variants and the fields OmniStock owns there, and what became of it.

`values_proto` turns connector.v1 UpsertProducts/ArchiveProducts messages into these and results
back, so each connector's protocol only maps them to its channel's payloads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from omnistock_connector_kit.values import Amount, Outcome

__all__ = [
    "OWNABLE_FIELDS",
    "ProductRef",
    "ProductResult",
    "ProductUpsert",
    "PublishedVariant",
    "VariantUpsert",
]

# ProductUpsert.owned_fields' vocabulary (connector.v1): what an update may write.
OWNABLE_FIELDS = frozenset(
    {"title", "description", "status", "vendor", "tags", "images", "options", "variants", "prices"}
)


@dataclass(frozen=True)
class VariantUpsert:
    """One variant to publish; external_id "" = create it."""

    sku: str
    external_id: str = ""
    barcode: str = ""
    # (option name, value) in the product's option order; empty for a product without options.
    options: tuple[tuple[str, str], ...] = ()
    price: Amount | None = None
    compare_at: Amount | None = None
    weight_grams: int | None = None


@dataclass(frozen=True)
class ProductUpsert:
    """One product to publish; external_id "" = create it (everything is sent then)."""

    product_id: str
    external_id: str = ""
    title: str = ""
    description: str = ""
    # OmniStock's word: active, draft, archived ("" = leave the channel's default / current).
    status: str = ""
    vendor: str = ""
    tags: tuple[str, ...] = ()
    image_urls: tuple[str, ...] = ()
    variants: tuple[VariantUpsert, ...] = ()
    # Empty = every field (connector.v1 ProductUpsert.owned_fields).
    owned_fields: frozenset[str] = frozenset()

    @property
    def is_create(self) -> bool:
        return not self.external_id

    def owns(self, name: str) -> bool:
        """Whether this call writes `name`: always on create, else when owned (empty = all)."""
        return self.is_create or not self.owned_fields or name in self.owned_fields


@dataclass(frozen=True)
class PublishedVariant:
    sku: str
    external_id: str
    # The ids a listing maps this SKU by (exactly what ListRemoteProducts gives for it).
    ids: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ProductResult:
    product_id: str
    outcome: Outcome
    message: str = ""
    external_id: str = ""
    variants: tuple[PublishedVariant, ...] = ()


@dataclass(frozen=True)
class ProductRef:
    product_id: str
    external_id: str
