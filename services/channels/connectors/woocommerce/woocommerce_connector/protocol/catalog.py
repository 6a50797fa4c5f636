"""Catalogue listing and stock read-back: remote products, variations, read grouping."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from omnistock_common.money import MoneyError, to_minor
from omnistock_connector_kit.catalog_import import CatalogProductData, CatalogVariantData, single_level
from omnistock_connector_kit.values import Amount
from woocommerce_connector.protocol.api import MAX_PER_PAGE, ProtocolError, parse_target, remote_ids


@dataclass(frozen=True)
class RemoteProductData:
    sku: str
    title: str
    ids: dict[str, str]
    quantity: int


def stock_of(resource: Mapping[str, Any]) -> int:
    """stock_quantity of a product/variation; null (stock not managed) reads as 0."""
    raw = resource.get("stock_quantity")
    try:
        return int(raw) if raw is not None else 0
    except (TypeError, ValueError):
        return 0


def is_variable(product: Mapping[str, Any]) -> bool:
    """Variable products sell through their variations; the parent itself is not a stock unit."""
    variations = product.get("variations")
    return product.get("type") == "variable" or (isinstance(variations, list) and bool(variations))


def simple_remote_product(product: Mapping[str, Any]) -> RemoteProductData:
    return RemoteProductData(
        sku=str(product.get("sku") or ""),
        title=str(product.get("name") or ""),
        ids=remote_ids(product.get("id")),
        quantity=stock_of(product),
    )


def variation_remote_product(parent: Mapping[str, Any], variation: Mapping[str, Any]) -> RemoteProductData:
    """A variation's title is its parent's name plus its attribute options ("Tee - Red, M")."""
    options = [
        str(a.get("option"))
        for a in variation.get("attributes") or []
        if isinstance(a, Mapping) and a.get("option")
    ]
    title = str(variation.get("name") or parent.get("name") or "")
    if options and not variation.get("name"):
        title = f"{title} - {', '.join(options)}"
    return RemoteProductData(
        sku=str(variation.get("sku") or ""),
        title=title,
        ids=remote_ids(parent.get("id"), variation.get("id")),
        quantity=stock_of(variation),
    )


def group_for_read(
    items: Iterable[tuple[str, Mapping[str, str]]],
) -> tuple[dict[int, list[str]], dict[int, dict[int, list[str]]], list[str]]:
    """Split read-back items into {product_id: skus}, {parent: {variation_id: skus}}, unmapped skus."""
    simple: dict[int, list[str]] = {}
    variations: dict[int, dict[int, list[str]]] = {}
    unmapped: list[str] = []
    for sku, ids in items:
        try:
            target = parse_target(ids)
        except ProtocolError:
            unmapped.append(sku)
            continue
        if target.variation_id is None:
            simple.setdefault(target.product_id, []).append(sku)
        else:
            variations.setdefault(target.product_id, {}).setdefault(target.variation_id, []).append(sku)
    return simple, variations, unmapped


def id_chunks(ids: Iterable[int], size: int = MAX_PER_PAGE) -> Iterator[list[int]]:
    """Ids for `include=` queries, at most one page's worth each so one GET answers them all."""
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


# --------------------------------------------------------------------------- onboarding import
# wc/v3 product and variation properties
# (https://woocommerce.github.io/woocommerce-rest-api-docs/#product-properties,
# https://woocommerce.github.io/woocommerce-rest-api-docs/#product-variation-properties):
# name, description, status, tags [{name}], images [{src}], attributes (a variation's
# [{name, option}]), sku, global_unique_id (GTIN/UPC/EAN/ISBN on products and variations since
# WooCommerce 9.2; https://github.com/woocommerce/woocommerce-rest-api-docs/pull/261), regular_price /
# price (decimal strings in the store currency), weight (a string in the store's weight unit),
# stock_quantity (null when stock is not managed). WooCommerce has no locations and no vendor.
GRAMS_PER_WEIGHT_UNIT = {
    "kg": Decimal(1000),
    "g": Decimal(1),
    "lbs": Decimal("453.59237"),
    "oz": Decimal("28.349523125"),
}


def grams(weight: Any, unit: str = "kg") -> int | None:
    """A Woo weight string in the store's unit as whole grams; None when empty or unreadable."""
    factor = GRAMS_PER_WEIGHT_UNIT.get(unit)
    if weight in (None, "") or factor is None:
        return None
    try:
        value = Decimal(str(weight))
    except InvalidOperation:
        return None
    if not value.is_finite() or value < 0:
        return None
    return int((value * factor).to_integral_value())


def _amount(value: Any, currency: str) -> Amount | None:
    if value in (None, "") or not currency:
        return None
    try:
        return Amount(to_minor(Decimal(str(value)), currency), currency)
    except (MoneyError, InvalidOperation):
        return None


def _managed_stock(resource: Mapping[str, Any]) -> int | None:
    return (
        stock_of(resource)
        if resource.get("manage_stock") and resource.get("stock_quantity") is not None
        else None
    )


def _variant(
    resource: Mapping[str, Any], ids: dict[str, str], options: list[tuple[str, str]], currency: str, unit: str
) -> CatalogVariantData:
    return CatalogVariantData(
        external_id=str(resource.get("id") or ""),
        ids=ids,
        sku=str(resource.get("sku") or "").strip(),
        title=str(resource.get("name") or ""),
        barcode=str(resource.get("global_unique_id") or ""),
        options=tuple(options),
        price=_amount(resource.get("regular_price") or resource.get("price"), currency),
        weight_grams=grams(resource.get("weight"), unit),
        # Woo has no locations: a managed stock quantity is one level with no location id, stock
        # the store does not manage is none.
        levels=single_level(_managed_stock(resource)),
    )


def catalog_product(
    product: Mapping[str, Any],
    variations: Iterable[Mapping[str, Any]],
    currency: str,
    weight_unit: str = "kg",
) -> CatalogProductData:
    """A product (with its variations when variable) as a CatalogProduct; a simple product is its
    own single variant."""
    if is_variable(product):
        variants = [
            _variant(
                v,
                remote_ids(product.get("id"), v.get("id")),
                [
                    (str(a.get("name") or ""), str(a.get("option") or ""))
                    for a in v.get("attributes") or []
                    if isinstance(a, Mapping) and a.get("name")
                ],
                currency,
                weight_unit,
            )
            for v in variations
        ]
    else:
        variants = [_variant(product, remote_ids(product.get("id")), [], currency, weight_unit)]
    return CatalogProductData(
        external_id=str(product.get("id") or ""),
        title=str(product.get("name") or ""),
        description=str(product.get("description") or ""),
        status=str(product.get("status") or ""),
        tags=tuple(
            str(t.get("name")) for t in product.get("tags") or [] if isinstance(t, Mapping) and t.get("name")
        ),
        image_urls=tuple(
            str(i.get("src")) for i in product.get("images") or [] if isinstance(i, Mapping) and i.get("src")
        ),
        variants=tuple(variants),
    )
