"""Publishing products: productSet inputs from OmniStock products, their results, and archiving.

Admin GraphQL 2025-07:
- productSet(identifier, input, synchronous)
  (https://shopify.dev/docs/api/admin-graphql/2025-07/mutations/productSet): `identifier: {id}`
  names the product to update (ProductSetIdentifiers,
  https://shopify.dev/docs/api/admin-graphql/2025-07/input-objects/ProductSetIdentifiers), none
  creates one. ProductSetInput: title, descriptionHtml, status (ProductStatus), vendor, tags,
  productOptions [{name, values [{name}]}], variants [ProductVariantSetInput], files
  [{originalSource, contentType}]. ProductVariantSetInput: id, optionValues [{optionName, name}],
  price, compareAtPrice, barcode, inventoryItem {sku, tracked, measurement {weight {unit value}}}
  (https://shopify.dev/docs/api/admin-graphql/2025-07/input-objects/ProductVariantSetInput).
  userErrors are ProductSetUserError {field message code}.
- "For list fields: creates new entries, updates existing entries, and deletes existing entries
  that aren't included"; other fields that are omitted stay unchanged. The contract says variants
  the request does not name are left alone, so an update that touches variants first reads the
  product's variants (PRODUCT_VARIANTS_FOR_SET) and lists every one of them: the named ones with
  their new values, the others by id with their current options only (so they stay as they are).
  An update that touches no variant field (owned_fields without options/variants/prices) sends no
  `variants` and no `productOptions` at all, and nothing of the variants changes.
- productUpdate(product: ProductUpdateInput {id, status})
  (https://shopify.dev/docs/api/admin-graphql/2025-07/mutations/productUpdate) archives.
Ids: the results carry the GIDs ListRemoteProducts maps listings by (product_id, variant_id,
inventory_item_id) and the connection's location_id (protocol.fulfillment.remote_product).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from omnistock_common.egress import safe_code
from omnistock_connector_kit.publishing import ProductUpsert, PublishedVariant, VariantUpsert
from shopify_connector.protocol.orders import decimal_string

# Products one UpsertProducts call takes (productSet is one product per mutation; the connector
# loops, each mutation debited from the shop's cost bucket): Describe.max_product_batch.
MAX_PRODUCT_BATCH = 25
# Variants read per page when an update lists the product's existing variants.
EXISTING_VARIANTS_PAGE = 250
EXISTING_VARIANTS_COST = 3.0 + EXISTING_VARIANTS_PAGE * 3
# Without options Shopify has its one placeholder option (catalog._options reads it back as none).
DEFAULT_OPTION = ("Title", "Default Title")
STATUSES = {"active": "ACTIVE", "draft": "DRAFT", "archived": "ARCHIVED"}
# Fields of the product itself that an update may leave out (OmniStock's name → ProductSetInput's).
VARIANT_FIELDS = ("options", "variants", "prices")

_RESULT_FIELDS = """
    product {
      id
      variants(first: ANSWER_VARIANTS) {
        nodes { id sku selectedOptions { name value } inventoryItem { id } }
        pageInfo { hasNextPage endCursor }
      }
    }
    userErrors { field message code }""".replace("ANSWER_VARIANTS", "100")
# Requested cost of a productSet (the mutation, then its answer: 100 variants of 3 points).
PRODUCT_SET_COST = 10.0 + 1 + 2 + 100 * 3

PRODUCT_SET_MUTATION = f"""
mutation OmniStockProductSet($identifier: ProductSetIdentifiers, $input: ProductSetInput!) {{
  productSet(identifier: $identifier, input: $input, synchronous: true) {{{_RESULT_FIELDS}
  }}
}}
"""

PRODUCT_VARIANTS_FOR_SET = f"""
query OmniStockVariantsForSet($id: ID!, $after: String) {{
  product(id: $id) {{
    id
    variants(first: {EXISTING_VARIANTS_PAGE}, after: $after) {{
      nodes {{ id sku selectedOptions {{ name value }} inventoryItem {{ id }} }}
      pageInfo {{ hasNextPage endCursor }}
    }}
  }}
}}
"""

PRODUCT_ARCHIVE_MUTATION = """
mutation OmniStockArchiveProduct($product: ProductUpdateInput!) {
  productUpdate(product: $product) {
    product { id status }
    userErrors { field message }
  }
}
"""


@dataclass(frozen=True)
class ExistingVariant:
    """A variant the product already has on Shopify (read before an update that lists variants)."""

    id: str
    sku: str
    options: tuple[tuple[str, str], ...]


def existing_variants(nodes: Sequence[Any]) -> list[ExistingVariant]:
    out = []
    for node in nodes:
        if isinstance(node, Mapping) and node.get("id"):
            options = tuple(
                (str(o.get("name") or ""), str(o.get("value") or ""))
                for o in node.get("selectedOptions") or []
                if isinstance(o, Mapping)
            )
            out.append(ExistingVariant(str(node["id"]), str(node.get("sku") or ""), options))
    return out


def upsert_problem(product: ProductUpsert, shop_currency: str = "") -> str | None:
    """Why this product cannot be sent (REJECTED before any call), or None. Prices must be in the
    shop's currency when the connection knows it (as PushPrices requires, push.price_problem)."""
    if product.owns("status") and product.status and product.status not in STATUSES:
        return f"unknown product status {product.status!r} (active, draft or archived)"
    if product.is_create and not product.variants:
        return "a product to create needs at least one variant"
    currencies = {v.price.currency for v in product.variants if v.price and product.owns("prices")}
    if len(currencies) > 1:
        return "variant prices are in more than one currency"
    if shop_currency and currencies and currencies != {shop_currency}:
        return f"prices are in {currencies.pop()} but the shop sells in {shop_currency}"
    return None


def touches_variants(product: ProductUpsert) -> bool:
    return any(product.owns(name) for name in VARIANT_FIELDS)


def _option_values(options: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"optionName": name, "name": value} for name, value in (options or [DEFAULT_OPTION])]


def _variant_input(
    product: ProductUpsert, variant: VariantUpsert, current: ExistingVariant | None
) -> dict[str, Any]:
    """One ProductVariantSetInput: a new variant gets everything, an existing one its owned parts."""
    create = current is None
    body: dict[str, Any] = {}
    if current is not None:
        body["id"] = current.id
    options = variant.options if (create or product.owns("options")) else current.options  # type: ignore[union-attr]
    body["optionValues"] = _option_values(options)
    if create or product.owns("variants"):
        item: dict[str, Any] = {"sku": variant.sku, "tracked": True}
        if variant.weight_grams is not None:
            item["measurement"] = {"weight": {"unit": "GRAMS", "value": float(variant.weight_grams)}}
        body["inventoryItem"] = item
        if variant.barcode:
            body["barcode"] = variant.barcode
    if (create or product.owns("prices")) and variant.price is not None:
        body["price"] = decimal_string(variant.price)
        if variant.compare_at is not None:
            body["compareAtPrice"] = decimal_string(variant.compare_at)
    return body


def _product_options(variants: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """productOptions in first-seen order from the listed variants' optionValues."""
    names: dict[str, list[str]] = {}
    for variant in variants:
        for value in variant["optionValues"]:
            values = names.setdefault(value["optionName"], [])
            if value["name"] not in values:
                values.append(value["name"])
    return [{"name": name, "values": [{"name": v} for v in values]} for name, values in names.items()]


def match_existing(variant: VariantUpsert, existing: Sequence[ExistingVariant]) -> ExistingVariant | None:
    """The Shopify variant a requested one updates: by external id, else by SKU (a variant created
    by an earlier attempt whose answer was lost is updated, not duplicated)."""
    for candidate in existing:
        if variant.external_id and candidate.id == variant.external_id:
            return candidate
    if variant.sku:
        for candidate in existing:
            if candidate.sku == variant.sku:
                return candidate
    return None


def product_set_variables(product: ProductUpsert, existing: Sequence[ExistingVariant] = ()) -> dict[str, Any]:
    """productSet's variables: on update only the owned fields; variants as the module says."""
    data: dict[str, Any] = {}
    if product.owns("title"):
        data["title"] = product.title
    if product.owns("description"):
        data["descriptionHtml"] = product.description
    if product.owns("status") and product.status:
        data["status"] = STATUSES[product.status]
    if product.owns("vendor"):
        data["vendor"] = product.vendor
    if product.owns("tags"):
        data["tags"] = list(product.tags)
    if product.owns("images"):
        data["files"] = [{"originalSource": url, "contentType": "IMAGE"} for url in product.image_urls]
    if touches_variants(product):
        named: set[str] = set()
        variants = []
        for variant in product.variants:
            current = match_existing(variant, existing) if not product.is_create else None
            if current is not None:
                named.add(current.id)
            elif not product.owns("variants"):
                continue  # adding a variant is the `variants` field's to do (sent_variants)
            variants.append(_variant_input(product, variant, current))
        kept = [
            {"id": e.id, "optionValues": _option_values(e.options)} for e in existing if e.id not in named
        ]
        data["variants"] = kept + variants
        data["productOptions"] = _product_options(data["variants"])
    variables: dict[str, Any] = {"input": data}
    if not product.is_create:
        variables["identifier"] = {"id": product.external_id}
    return variables


def sent_variants(product: ProductUpsert, existing: Sequence[ExistingVariant]) -> ProductUpsert:
    """The product with only the variants this call writes or that exist already: a variant the
    update may not add (owned fields without `variants`) is left out of the call and the result."""
    if product.owns("variants"):
        return product
    kept = tuple(v for v in product.variants if match_existing(v, existing) is not None)
    return replace(product, variants=kept)


def user_errors_message(errors: Sequence[Mapping[str, Any]]) -> str:
    """userErrors in fixed words: each error's code and the input field it points at (Shopify's
    free-text message is not passed on: remote text never reaches a tenant, egress.py)."""
    parts = []
    for error in errors:
        code = safe_code(error.get("code")) or "INVALID"
        field = error.get("field")
        where = (
            ".".join(safe_code(str(f)) for f in field if safe_code(str(f))) if isinstance(field, list) else ""
        )
        parts.append(f"{code} at {where}" if where else code)
    return f"rejected by Shopify ({'; '.join(parts)})" if parts else "rejected by Shopify"


def published_variants(
    product: ProductUpsert, product_gid: str, nodes: Sequence[Any], location_id: str
) -> tuple[list[PublishedVariant], list[str]]:
    """Each requested variant with its ids from productSet's answer (matched by id, SKU, then
    options); the SKUs Shopify's answer did not show."""
    answered = [n for n in nodes if isinstance(n, Mapping) and n.get("id")]
    out: list[PublishedVariant] = []
    missing: list[str] = []
    for variant in product.variants:
        node = next((n for n in answered if variant.external_id and n["id"] == variant.external_id), None)
        if node is None and variant.sku:
            node = next((n for n in answered if n.get("sku") == variant.sku), None)
        if node is None:
            wanted = list(variant.options or [DEFAULT_OPTION])
            node = next(
                (
                    n
                    for n in answered
                    if [(o.get("name"), o.get("value")) for o in n.get("selectedOptions") or []] == wanted
                ),
                None,
            )
        if node is None:
            missing.append(variant.sku)
            continue
        ids = {
            "product_id": product_gid,
            "variant_id": str(node["id"]),
            "inventory_item_id": str((node.get("inventoryItem") or {}).get("id") or ""),
            "location_id": location_id,
        }
        out.append(PublishedVariant(variant.sku, str(node["id"]), {k: x for k, x in ids.items() if x}))
    return out, missing
