"""Catalogue listing and stock read-back: remote products, variations, read grouping."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

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
