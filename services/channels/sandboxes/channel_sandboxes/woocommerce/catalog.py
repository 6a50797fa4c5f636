"""`POST /_sandbox/catalog` for WooCommerce: whole products as a merchant builds them in the admin
(simple products, or variable ones whose variations carry the options as attributes)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from channel_sandboxes.woocommerce.state import WooProduct, WooStore, price_string


def add_catalog_product(store: WooStore, spec: dict[str, Any]) -> WooProduct:
    """`/_sandbox/catalog`: one variant -> a simple product; more -> a variable product whose
    variations carry the options as attributes. SKUs may be empty, as in WooCommerce."""
    variants = spec.get("variants") or [{}]
    title = str(spec.get("title") or "Untitled")
    common = {
        "description": str(spec.get("description") or ""),
        "tags": [str(t) for t in spec.get("tags") or []],
        "images": [str(u) for u in spec.get("images") or []],
        "status": {"ACTIVE": "publish", "DRAFT": "draft", "ARCHIVED": "private"}.get(
            str(spec.get("status") or "ACTIVE").upper(), "publish"
        ),
    }
    if len(variants) == 1 and not variants[0].get("options"):
        only = variants[0]
        product = WooProduct(
            store.new_id(),
            title,
            str(only.get("sku") or ""),
            regular_price=price_string(only.get("price", "0")),
            stock_quantity=int(only.get("quantity", 0)),
            weight=kg(only.get("weight_grams")),
            global_unique_id=str(only.get("barcode") or ""),
            **common,
        )
        product.sync_stock_status()
        store.products[product.id] = product
        return product
    names: dict[str, list[str]] = {}
    for raw in variants:
        for name, value in (raw.get("options") or {}).items():
            names.setdefault(str(name), [])
            if str(value) not in names[str(name)]:
                names[str(name)].append(str(value))
    parent = WooProduct(
        store.new_id(),
        title,
        str(spec.get("sku") or ""),
        type="variable",
        manage_stock=False,
        stock_quantity=None,
        attributes=list(names.items()),
        **common,
    )
    store.products[parent.id] = parent
    for raw in variants:
        options = [(str(k), [str(v)]) for k, v in (raw.get("options") or {}).items()]
        variation = WooProduct(
            store.new_id(),
            title + " - " + ", ".join(o[1][0] for o in options),
            str(raw.get("sku") or ""),
            type="variation",
            parent_id=parent.id,
            regular_price=price_string(raw.get("price", "0")),
            stock_quantity=int(raw.get("quantity", 0)),
            attributes=options,
            weight=kg(raw.get("weight_grams")),
            global_unique_id=str(raw.get("barcode") or ""),
        )
        variation.sync_stock_status()
        parent.variation_ids.append(variation.id)
        store.products[variation.id] = variation
    return parent


def kg(grams: Any) -> str:
    """Grams as the store's kg weight string ("" when unknown)."""
    if grams is None:
        return ""
    return format(Decimal(str(grams)) / 1000, "f")
