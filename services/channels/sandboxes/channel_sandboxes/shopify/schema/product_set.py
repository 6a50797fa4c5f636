"""Publishing: `productSet` (create or update a product with its options and variants) and
`productUpdate` (one product's own fields, e.g. its status), as Admin GraphQL 2025-07 has them.

productSet (https://shopify.dev/docs/api/admin-graphql/2025-07/mutations/productSet):
- `productSet(identifier: ProductSetIdentifiers, input: ProductSetInput!, synchronous: Boolean)`;
  `identifier.id` (or the older `input.id`) names the product to update, none creates one
  (https://shopify.dev/docs/api/admin-graphql/2025-07/input-objects/ProductSetIdentifiers).
- Scalar fields that are omitted stay as they are; a list field that is given (variants, files)
  *replaces* the product's list: variants not named are deleted.
- ProductVariantSetInput: id, optionValues [{optionName, name}], price, compareAtPrice, barcode,
  sku, inventoryItem {sku, tracked, measurement {weight {unit, value}}}
  (https://shopify.dev/docs/api/admin-graphql/2025-07/input-objects/ProductVariantSetInput).
- userErrors are ProductSetUserError {code field message} (ProductSetUserErrorCode); a mutation
  with any userError changes nothing. The sandbox runs synchronously only (the default since 2024-07).
productUpdate (https://shopify.dev/docs/api/admin-graphql/2025-07/mutations/productUpdate):
`productUpdate(product: ProductUpdateInput)` with id, title, descriptionHtml, status, vendor, tags;
userErrors {field message}.
Both are charged as every mutation is (cost.MUTATION_COST); new variants are stocked at the
shop's primary location with nothing available, as Shopify stocks them at the default location.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from channel_sandboxes.common import utcnow
from channel_sandboxes.shopify.models import (
    Event,
    InventoryItem,
    Level,
    Product,
    Variant,
    money,
    parse_gid,
    valid_money,
)
from channel_sandboxes.shopify.schema.context import ExecContext, GraphQLError, Resolver, user_error
from channel_sandboxes.shopify.state import ShopState, _handle

PRODUCT_STATUSES = ("ACTIVE", "ARCHIVED", "DRAFT")
# WeightUnit -> grams (https://shopify.dev/docs/api/admin-graphql/2025-07/enums/WeightUnit).
_GRAMS = {
    "GRAMS": Decimal(1),
    "KILOGRAMS": Decimal(1000),
    "OUNCES": Decimal("28.349523125"),
    "POUNDS": Decimal("453.59237"),
}

TYPES: dict[str, dict[str, str]] = {
    "Mutation": {"productSet": "ProductSetPayload", "productUpdate": "ProductUpdatePayload"},
    "ProductSetPayload": {"product": "Product", "userErrors": "[ProductSetUserError!]!"},
    "ProductSetUserError": {"code": "ProductSetUserErrorCode", "field": "[String!]", "message": "String!"},
    "ProductUpdatePayload": {"product": "Product", "userErrors": "[UserError!]!"},
}


def _invalid(message: str) -> GraphQLError:
    return GraphQLError(
        f"Variable $input of type ProductSetInput! was provided invalid value {message}", "INVALID_VARIABLE"
    )


def _grams(weight: Any) -> float | None:
    if not isinstance(weight, dict):
        return None
    factor = _GRAMS.get(str(weight.get("unit") or "KILOGRAMS"))
    try:
        value = Decimal(str(weight.get("value")))
    except (InvalidOperation, ValueError):
        raise _invalid("for measurement.weight.value (not a number)") from None
    if factor is None:
        raise _invalid("for measurement.weight.unit (not a WeightUnit)")
    return float(value * factor)


def _options_of(raw: dict[str, Any]) -> list[tuple[str, str]]:
    values = raw.get("optionValues")
    if values is None:
        raise _invalid("for variants.optionValues (Expected value to not be null)")
    return [(str(v.get("optionName") or ""), str(v.get("name") or "")) for v in values if isinstance(v, dict)]


def _check(state: ShopState, product: Product | None, data: dict[str, Any]) -> list[dict[str, Any]]:
    """The userErrors Shopify gives for this input (nothing is applied when there are any)."""
    errors = []
    if (product is None or "title" in data) and not str(data.get("title") or "").strip():
        errors.append(user_error("INVALID_PRODUCT", ["input", "title"], "Title can't be blank"))
    options = data.get("productOptions")
    declared = None
    if options is not None:
        declared = {str(o.get("name")): [str(v.get("name")) for v in o.get("values") or []] for o in options}
    seen: dict[tuple[tuple[str, str], ...], int] = {}
    for index, raw in enumerate(data.get("variants") or []):
        combination = tuple(_options_of(raw))
        if raw.get("id"):
            variant = state.variants.get(parse_gid(raw["id"], "ProductVariant") or -1)
            if variant is None or product is None or variant.product_id != product.id:
                errors.append(
                    user_error(
                        "PRODUCT_VARIANT_DOES_NOT_EXIST",
                        ["input", "variants", str(index), "id"],
                        "Product variant does not exist",
                    )
                )
        for name, value in combination:
            if declared is not None and value not in declared.get(name, []):
                errors.append(
                    user_error(
                        "OPTION_VALUE_DOES_NOT_EXIST",
                        ["input", "variants", str(index), "optionValues"],
                        f"Option value '{value}' does not exist on option '{name}'",
                    )
                )
        if combination in seen:
            title = " / ".join(v for _, v in combination)
            errors.append(
                user_error(
                    "INVALID_VARIANT",
                    ["input", "variants", str(index)],
                    f"The variant '{title}' already exists.",
                )
            )
        seen[combination] = index
        for money_field in ("price", "compareAtPrice"):
            if raw.get(money_field) is not None and not valid_money(raw[money_field]):
                raise _invalid(f"for variants.{index}.{money_field} (invalid Money value)")
    return errors


def _write_variant(state: ShopState, product: Product, raw: dict[str, Any]) -> Variant:
    """Create or update one variant of `product` from a ProductVariantSetInput."""
    options = _options_of(raw) or [("Title", "Default Title")]
    item_in = raw.get("inventoryItem") or {}
    sku = raw.get("sku", item_in.get("sku"))
    variant = state.variants.get(parse_gid(raw.get("id"), "ProductVariant") or -1)
    if variant is None:
        item_id = state.new_id()
        variant = Variant(
            state.new_id(), product.id, str(sku or ""), "", money(raw.get("price") or 0), item_id
        )
        item = InventoryItem(item_id, variant.id, variant.sku)
        item.levels[state.primary_location_id] = Level(available=0)
        state.variants[variant.id] = variant
        state.items[item_id] = item
    item = state.items[variant.inventory_item_id]
    if sku is not None:
        variant.sku = item.sku = str(sku)
    variant.options = options
    variant.title = " / ".join(v for _, v in options)
    if raw.get("price") is not None:
        variant.price = money(raw["price"])
        state.price_writes[variant.sku] += 1
    if "compareAtPrice" in raw:
        variant.compare_at_price = money(raw["compareAtPrice"]) if raw["compareAtPrice"] is not None else None
    if "barcode" in raw:
        variant.barcode = raw["barcode"]
    if isinstance(item_in.get("tracked"), bool):
        item.tracked = item_in["tracked"]
    weight = (item_in.get("measurement") or {}).get("weight")
    if weight is not None:
        variant.weight_grams = _grams(weight)
    variant.updated_at = item.updated_at = utcnow()
    return variant


def _apply(state: ShopState, product: Product, data: dict[str, Any]) -> None:
    if "title" in data:
        product.title = str(data["title"]).strip()
    if "descriptionHtml" in data:
        product.description = str(data["descriptionHtml"] or "")
    if "vendor" in data:
        product.vendor = str(data["vendor"] or "")
    if "tags" in data:
        tags = data["tags"] or []
        product.tags = [t.strip() for t in (tags.split(",") if isinstance(tags, str) else tags) if t.strip()]
    if "status" in data:
        product.status = str(data["status"])
    if "files" in data:
        product.image_urls = [
            str(f.get("originalSource")) for f in data["files"] or [] if f.get("originalSource")
        ]
    if data.get("variants") is not None:
        kept = [_write_variant(state, product, raw).id for raw in data["variants"]]
        for gone in set(product.variant_ids) - set(kept):  # a list field replaces the product's list
            variant = state.variants.pop(gone)
            state.items.pop(variant.inventory_item_id, None)
        product.variant_ids = kept
    product.updated_at = utcnow()


def _m_product_set(_src: Any, args: dict[str, Any], ctx: ExecContext) -> dict[str, Any]:
    state = ctx.state
    data = args.get("input")
    if not isinstance(data, dict):
        raise _invalid("(Expected value to not be null)")
    if args.get("synchronous") is False:
        raise GraphQLError("The sandbox runs productSet synchronously only", "INVALID_VARIABLE")
    if "status" in data and data["status"] not in PRODUCT_STATUSES:
        raise _invalid(
            f'for status (Expected "{data["status"]}" to be one of: {", ".join(PRODUCT_STATUSES)})'
        )
    wanted = (args.get("identifier") or {}).get("id") or data.get("id")
    product = None
    if wanted:
        product = state.products.get(parse_gid(wanted, "Product") or -1)
        if product is None:
            field = ["identifier", "id"] if (args.get("identifier") or {}).get("id") else ["input", "id"]
            return {
                "product": None,
                "userErrors": [user_error("PRODUCT_DOES_NOT_EXIST", field, "Product does not exist")],
            }
    errors = _check(state, product, data)
    if errors:
        return {"product": None, "userErrors": errors}
    created = product is None
    if product is None:
        product_id = state.new_id()
        title = str(data.get("title")).strip()
        product = Product(product_id, title, _handle(title, str(product_id)))
        state.products[product.id] = product
        if data.get("variants") is None:  # a product always has at least its default variant
            data = {**data, "variants": [{"optionValues": []}]}
    _apply(state, product, data)
    ctx.events.append(Event("products/create" if created else "products/update", state.product_rest(product)))
    return {"product": product, "userErrors": []}


def _m_product_update(_src: Any, args: dict[str, Any], ctx: ExecContext) -> dict[str, Any]:
    data = args.get("product") or args.get("input")
    if not isinstance(data, dict):
        raise GraphQLError(
            "Variable $product of type ProductUpdateInput was provided invalid value", "INVALID_VARIABLE"
        )
    if "status" in data and data["status"] not in PRODUCT_STATUSES:
        raise GraphQLError(
            f"Variable $product of type ProductUpdateInput was provided invalid value for status "
            f'(Expected "{data["status"]}" to be one of: {", ".join(PRODUCT_STATUSES)})',
            "INVALID_VARIABLE",
        )
    product = ctx.state.products.get(parse_gid(data.get("id"), "Product") or -1)
    if product is None:
        return {"product": None, "userErrors": [user_error(None, ["id"], "Product does not exist")]}
    if "title" in data and not str(data["title"] or "").strip():
        return {"product": None, "userErrors": [user_error(None, ["title"], "Title can't be blank")]}
    _apply(ctx.state, product, {k: v for k, v in data.items() if k not in ("variants", "files")})
    ctx.events.append(ctx.state.product_event(product))
    return {"product": product, "userErrors": []}


RESOLVERS: dict[str, dict[str, Resolver]] = {
    "Mutation": {"productSet": _m_product_set, "productUpdate": _m_product_update},
}
