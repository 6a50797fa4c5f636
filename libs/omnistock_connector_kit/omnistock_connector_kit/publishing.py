"""Publishing values every connector shares (no I/O, no generated code): a product to create or
update on a channel, with its variants and the fields OmniStock owns there, and what became of it.

`values_proto` turns connector.v1 UpsertProducts/ArchiveProducts messages into these and results
back, so each connector's protocol only maps them to its channel's payloads.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from omnistock_connector_kit.values import Amount, Outcome

__all__ = [
    "ADDS_UNOWNED_VARIANTS",
    "OWNABLE_FIELDS",
    "ProductRef",
    "ProductResult",
    "ProductUpsert",
    "PublishedVariant",
    "RequiredFields",
    "VariantUpsert",
    "adds_unowned_variants",
    "sku_problem",
    "status_problem",
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

    def creates(self, variant: VariantUpsert) -> bool:
        """Whether this call creates `variant` on the channel (the product's, or a new variant)."""
        return self.is_create or not variant.external_id

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


# ------------------------------------------------------------- checks every connector makes
# (before any call: a product the channel would refuse is REJECTED naming why, the others go on)
ADDS_UNOWNED_VARIANTS = "adding variants is the `variants` field's to do, which this connection does not own"


def sku_problem(
    product: ProductUpsert, *, key: str, max_length: int = 0, max_variants: int = 0
) -> str | None:
    """The variants' SKUs as the channel keys them (`key`, e.g. "the Amazon seller SKU of its
    listing"): at least one variant, each with a SKU, none twice, none longer than `max_length`,
    at most `max_variants` (0: no limit)."""
    if not product.variants:
        return f"a product needs at least one variant (each variant's SKU is {key})"
    if max_variants and len(product.variants) > max_variants:
        return f"at most {max_variants} variants per product"
    skus = [v.sku for v in product.variants]
    if any(not sku for sku in skus):
        return f"every variant needs a SKU (it is {key})"
    if len(set(skus)) != len(skus):
        return f"two variants have the same SKU (it is {key})"
    long = [sku for sku in skus if max_length and len(sku) > max_length]
    if long:
        return f"SKU {long[0]!r} is longer than {max_length} characters (it is {key})"
    return None


def status_problem(
    product: ProductUpsert, known: Collection[str] = ("active", "draft", "archived")
) -> str | None:
    """A status this call writes that OmniStock does not have."""
    if product.owns("status") and product.status and product.status not in known:
        return f"unknown product status {product.status!r} (active, draft or archived)"
    return None


def adds_unowned_variants(product: ProductUpsert) -> bool:
    """An update that would add variants to the channel's product while the connection does not
    let OmniStock own them."""
    return (
        not product.is_create
        and not product.owns("variants")
        and any(not v.external_id for v in product.variants)
    )


class RequiredFields:
    """What the channel requires that a product lacks, each named once in the order found."""

    def __init__(self) -> None:
        self.missing: list[str] = []

    def need(self, name: str, present: bool, writes: bool = True) -> None:
        """`name` is missing when this call writes it (`writes`) and the product has none."""
        if writes and not present and name not in self.missing:
            self.missing.append(name)
