"""Publishing products to WooCommerce (REST wc/v3): batch payloads from OmniStock products and the
per-product results of the answers.

- `POST products/batch` {create: [...], update: [...]} and `POST products/<id>/variations/batch`
  take at most 100 objects per request ("By default it's limited to up to 100 objects to be
  created, updated or deleted": https://woocommerce.github.io/woocommerce-rest-api-docs/#batch-update-products,
  #batch-update-product-variations); a failed item carries `error {code, message, data}` in
  place of the resource, the others are applied.
- Product properties (https://woocommerce.github.io/woocommerce-rest-api-docs/#product-properties):
  name, type (simple | variable), status (draft, pending, private, publish), description, sku,
  regular_price / sale_price, manage_stock, weight (a string in the store's weight unit), images
  [{src}], attributes [{name, options, visible, variation}], global_unique_id (GTIN, WC 9.2+).
  Variation properties (#product-variation-properties): sku, regular_price / sale_price, weight,
  manage_stock, attributes [{name, option}], global_unique_id.
- A product with one variant and no options is a simple product (the variant's fields are the
  product's, remote ids {product_id}); otherwise a variable product whose variations carry the
  options (remote ids {product_id: the parent, variation_id}), as ListRemoteProducts maps them.
- Not sent: `vendor` (WooCommerce has no such field) and `tags` (the REST API takes product tags
  by term id only, WC_REST_Products_Controller::save_taxonomy_terms; names would be dropped).
- WooCommerce saves a product without a name as an untitled product
  (https://github.com/woocommerce/woocommerce/issues/33655): the connector refuses a blank title
  itself. WooCommerce has no archived status: `archived` is `draft` (kept, off sale, ids unchanged).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from omnistock_common.money import MoneyError, from_minor
from omnistock_connector_kit.publishing import ProductUpsert, VariantUpsert
from woocommerce_connector.protocol.api import MAX_BATCH, Outcome
from woocommerce_connector.protocol.batches import error_message

# Products per UpsertProducts call (Describe.max_product_batch): one products/batch request.
MAX_PRODUCT_BATCH = MAX_BATCH
STATUSES = {"active": "publish", "draft": "draft", "archived": "draft"}
# Grams in one unit of the store's weight unit (WooCommerce > Settings > Products: kg, g, lbs, oz).
GRAMS_PER_UNIT = {
    "kg": Decimal(1000),
    "g": Decimal(1),
    "lbs": Decimal("453.59237"),
    "oz": Decimal("28.349523125"),
}


@dataclass(frozen=True)
class ExistingProduct:
    """What an update needs to know of the product on the store: its type and attributes."""

    id: int
    type: str
    attributes: tuple[tuple[str, tuple[str, ...]], ...] = ()


def existing_product(item: Mapping[str, Any]) -> ExistingProduct:
    attributes = tuple(
        (str(a.get("name") or ""), tuple(str(o) for o in a.get("options") or []))
        for a in item.get("attributes") or []
        if isinstance(a, Mapping) and a.get("name")
    )
    return ExistingProduct(int(item.get("id") or 0), str(item.get("type") or "simple"), attributes)


def product_id_of(product: ProductUpsert) -> int | None:
    """The WooCommerce id of a product to update; None when the external id is not one."""
    raw = product.external_id.strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else None


def is_simple(product: ProductUpsert, existing: ExistingProduct | None) -> bool:
    """Simple on the store: an existing product by its type; a new one with one optionless variant."""
    if existing is not None:
        return existing.type != "variable"
    return len(product.variants) == 1 and not product.variants[0].options


def upsert_problem(product: ProductUpsert, store_currency: str) -> str | None:
    """Why this product cannot be sent (REJECTED before any call), or None."""
    if not product.is_create and product_id_of(product) is None:
        return f"{product.external_id!r} is not a WooCommerce product id"
    if product.owns("title") and not product.title.strip():
        return "a product needs a title (WooCommerce would save it untitled)"
    if product.owns("status") and product.status and product.status not in STATUSES:
        return f"unknown product status {product.status!r} (active, draft or archived)"
    if product.is_create and not product.variants:
        return "a product to create needs at least one variant"
    if product.owns("prices"):
        for variant in product.variants:
            if variant.price is None:
                continue
            if store_currency and variant.price.currency != store_currency:
                return f"{variant.sku}: price is in {variant.price.currency}, the store sells in {store_currency}"
            if variant.price.amount_minor < 0:
                return f"{variant.sku}: price must not be negative"
    return None


def _weight(grams: int, unit: str) -> str:
    per_unit = GRAMS_PER_UNIT.get(unit, GRAMS_PER_UNIT["kg"])
    return format((Decimal(grams) / per_unit).normalize(), "f")


def _prices(variant: VariantUpsert) -> dict[str, str]:
    """regular_price, or the compare-at price as regular_price and the price as sale_price."""
    if variant.price is None:
        return {}
    try:
        price = from_minor(variant.price.amount_minor, variant.price.currency)
        compare = variant.compare_at
        if compare is not None and compare.amount_minor > variant.price.amount_minor:
            return {"regular_price": from_minor(compare.amount_minor, compare.currency), "sale_price": price}
    except MoneyError:
        return {}
    return {"regular_price": price, "sale_price": ""}


def variant_fields(
    product: ProductUpsert, variant: VariantUpsert, *, create: bool, weight_unit: str
) -> dict[str, Any]:
    """The SKU-level fields of a simple product or a variation: owned parts only on update.
    manage_stock is set on create so PushInventory's quantities count at once."""
    body: dict[str, Any] = {}
    if create or product.owns("variants"):
        body["sku"] = variant.sku
        if variant.weight_grams is not None:
            body["weight"] = _weight(variant.weight_grams, weight_unit)
        if variant.barcode:
            body["global_unique_id"] = variant.barcode
    if create:
        body["manage_stock"] = True
    if create or product.owns("prices"):
        body.update(_prices(variant))
    return body


def _attributes(product: ProductUpsert, existing: ExistingProduct | None) -> list[dict[str, Any]]:
    """The parent's variation attributes: the store's current values, then the request's new ones
    (an attribute's options list replaces the product's, so existing values are kept)."""
    names: dict[str, list[str]] = {n: list(values) for n, values in (existing.attributes if existing else ())}
    for variant in product.variants:
        for name, value in variant.options:
            values = names.setdefault(name, [])
            if value not in values:
                values.append(value)
    return [
        {"name": name, "options": values, "visible": True, "variation": True}
        for name, values in names.items()
    ]


def product_body(
    product: ProductUpsert, existing: ExistingProduct | None, *, weight_unit: str
) -> dict[str, Any]:
    """One products/batch create or update object (update: with `id`, owned fields only)."""
    create = product.is_create
    body: dict[str, Any] = {} if create else {"id": product_id_of(product)}
    simple = is_simple(product, existing)
    if create:
        body["type"] = "simple" if simple else "variable"
    if product.owns("title"):
        body["name"] = product.title.strip()
    if product.owns("description"):
        body["description"] = product.description
    if product.owns("status") and product.status:
        body["status"] = STATUSES[product.status]
    if product.owns("images"):
        body["images"] = [{"src": url} for url in product.image_urls]
    if simple and product.variants:
        body.update(variant_fields(product, product.variants[0], create=create, weight_unit=weight_unit))
    elif not simple and (create or product.owns("options")):
        body["attributes"] = _attributes(product, existing)
    return body


def variation_body(product: ProductUpsert, variant: VariantUpsert, *, weight_unit: str) -> dict[str, Any]:
    """One variations/batch create (no external id) or update object."""
    create = not variant.external_id
    body: dict[str, Any] = {} if create else {"id": int(variant.external_id)}
    if create or product.owns("options"):
        body["attributes"] = [{"name": name, "option": value} for name, value in variant.options]
    body.update(variant_fields(product, variant, create=create, weight_unit=weight_unit))
    return body


def variation_problem(variant: VariantUpsert) -> str | None:
    if variant.external_id and not variant.external_id.strip().isdigit():
        return f"{variant.sku}: {variant.external_id!r} is not a WooCommerce variation id"
    if not variant.external_id and not variant.options:
        return f"{variant.sku}: a variation needs its options"
    return None


def item_outcome(answer: Any) -> tuple[Outcome, str, int]:
    """(outcome, message, id) of one batch answer item: its `error` (5xx/429 status → RETRY), or
    the resource's id."""
    if not isinstance(answer, Mapping):
        return Outcome.RETRY, "WooCommerce did not report on this item", 0
    error = answer.get("error")
    if isinstance(error, Mapping):
        data = error.get("data")
        status = data.get("status") if isinstance(data, Mapping) else None
        transient = isinstance(status, int) and (status == 429 or status >= 500)
        return (Outcome.RETRY if transient else Outcome.REJECTED), error_message(error, ""), 0
    try:
        return Outcome.APPLIED, "", int(answer.get("id") or 0)
    except (TypeError, ValueError):
        return Outcome.RETRY, "WooCommerce answered without an id", 0


def answers(payload: Any, action: str, count: int) -> list[Any]:
    """The `create` or `update` answers of a batch, padded to `count` (an item without an answer
    is RETRY, never assumed applied)."""
    found = payload.get(action) if isinstance(payload, Mapping) else None
    items: list[Any] = list(found) if isinstance(found, list) else []
    return (items + [None] * count)[:count]


def chunked(items: Sequence[Any], size: int = MAX_BATCH) -> list[Sequence[Any]]:
    return [items[start : start + size] for start in range(0, len(items), size)]
