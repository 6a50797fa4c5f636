"""The TikTok Shop Partner API's publishing and logistics routes (version 202309), behind the same
signed-call checks as api.py.

Create Product, Partial Edit Product and Deactivate Products validate what the docs require
(lywzx/tiktok-partner-api src/products/CreateProduct.ts, PartialEditProduct.ts,
DeactivateProducts.ts): title 1..255, description, a leaf category_id, 1..9 main_images URIs
unless save_mode is AS_DRAFT, 1..100 SKUs each with seller_sku (≤ 50), price{amount > 0,
currency = the shop's}, inventory[{warehouse_id of a sales warehouse, quantity 0..999999}],
distinct sales_attributes when there are several SKUs, package_weight{value > 0, unit
KILOGRAM|POUND}, package_dimensions in the US. A refusal is HTTP 200 with a non-zero code
naming the field (the sandbox's codes: TikTok's own per-field codes are [M]). A partial edit
deletes the SKUs it does not name, as TikTok says it does.
Logistics: warehouses, the default warehouse's one delivery option, its shipping providers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, request

from channel_sandboxes.tiktok.api import BAD_REQUEST, NOT_FOUND, Route, api_body, envelope
from channel_sandboxes.tiktok.sandbox import API_VERSION, TikTokSandbox
from channel_sandboxes.tiktok.state import (
    DEFAULT_WAREHOUSE,
    SHIPPING_PROVIDERS,
    STANDARD_DELIVERY_OPTION,
    Product,
    ShopState,
    Sku,
    money,
    png_size,
)

PRODUCT_INVALID = 12019002
DEACTIVATE_REFUSED = 12052901
MAX_SKUS = 100
MAX_IMAGES = 9
MAX_IDS = 20
MAX_STOCK = 999_999
MAX_IMAGE_BYTES = 5 * 1024 * 1024
USE_CASES = frozenset(
    {"MAIN_IMAGE", "ATTRIBUTE_IMAGE", "DESCRIPTION_IMAGE", "CERTIFICATION_IMAGE", "SIZE_CHART_IMAGE"}
)
OFF_SALE = frozenset({"SELLER_DEACTIVATED", "PLATFORM_DEACTIVATED", "FREEZE", "DELETED"})


class Refused(Exception):
    """A product body TikTok would refuse: the field and why."""


def _text(body: dict[str, Any], name: str, limit: int) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise Refused(f"{name} is required")
    if len(value) > limit:
        raise Refused(f"{name} must be at most {limit} characters")
    return value


def _weight(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or value.get("unit") not in ("KILOGRAM", "POUND"):
        raise Refused("package_weight is required: {value, unit KILOGRAM|POUND}")
    try:
        if float(str(value.get("value"))) <= 0:
            raise ValueError
    except ValueError:
        raise Refused("package_weight.value must be a positive number") from None
    return {"value": str(value["value"]), "unit": str(value["unit"])}


def _dimensions(value: Any, required: bool) -> dict[str, str] | None:
    if value is None and not required:
        return None
    parts = ("length", "width", "height")
    if (
        not isinstance(value, dict)
        or value.get("unit") not in ("CENTIMETER", "INCH")
        or not all(str(value.get(p, "")).isdigit() and int(value[p]) > 0 for p in parts)
    ):
        raise Refused("package_dimensions is required: {length, width, height, unit CENTIMETER|INCH}")
    return {p: str(value[p]) for p in (*parts, "unit")}


def _images(state: ShopState, value: Any, required: bool) -> list[str] | None:
    """main_images as the URLs TikTok serves them at; every URI must come from Upload Product Image."""
    if value is None and not required:
        return None
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_IMAGES:
        raise Refused(f"main_images is required: 1 to {MAX_IMAGES} image URIs from Upload Product Image")
    if not all(isinstance(i, dict) and isinstance(i.get("uri"), str) and i["uri"] for i in value):
        raise Refused("main_images[].uri is required")
    unknown = [i["uri"] for i in value if i["uri"] not in state.uploaded_images]
    if unknown:
        raise Refused(f"main_images[].uri {unknown[0]} was not uploaded with Upload Product Image")
    return [state.uploaded_images[i["uri"]] for i in value]


def _attributes(sku: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for attribute in sku.get("sales_attributes") or []:
        if not isinstance(attribute, dict) or not attribute.get("name") or not attribute.get("value_name"):
            raise Refused("sales_attributes need a name and a value_name")
        out[str(attribute["name"])] = str(attribute["value_name"])
    return out


def _sku_fields(state: ShopState, sku: Any, index: int) -> dict[str, Any]:
    """One SKU of a create or edit body, checked: its fields as the state keeps them."""
    where = f"skus[{index}]"
    if not isinstance(sku, dict):
        raise Refused(f"{where} must be an object")
    seller_sku = sku.get("seller_sku")
    if not isinstance(seller_sku, str) or not seller_sku or len(seller_sku) > 50:
        raise Refused(f"{where}.seller_sku is required (at most 50 characters)")
    price = sku.get("price")
    if not isinstance(price, dict) or not isinstance(price.get("amount"), str):
        raise Refused(f"{where}.price is required: {{amount, currency}}")
    if price.get("currency") != state.currency:
        raise Refused(f"{where}.price.currency must be {state.currency}")
    try:
        amount = money(price["amount"])
    except ValueError:
        raise Refused(f"{where}.price.amount must be a decimal string") from None
    if float(amount) <= 0:
        raise Refused(f"{where}.price.amount must be above zero")
    levels = sku.get("inventory")
    if not isinstance(levels, list) or len(levels) != 1 or not isinstance(levels[0], dict):
        raise Refused(f"{where}.inventory is required: one {{warehouse_id, quantity}}")
    level = levels[0]
    if level.get("warehouse_id") != DEFAULT_WAREHOUSE:
        raise Refused(f"{where}.inventory.warehouse_id is not a sales warehouse of the shop")
    quantity = level.get("quantity", 0)
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 0 <= quantity <= MAX_STOCK:
        raise Refused(f"{where}.inventory.quantity must be an integer from 0 to {MAX_STOCK}")
    code = sku.get("identifier_code")
    return {
        "id": str(sku.get("id") or ""),
        "seller_sku": seller_sku,
        "price": amount,
        "quantity": quantity,
        "options": _attributes(sku),
        "identifier_code": dict(code) if isinstance(code, dict) and code.get("code") else None,
    }


def _skus(state: ShopState, value: Any, product: Product | None) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_SKUS:
        raise Refused(f"skus is required: 1 to {MAX_SKUS}")
    skus = [_sku_fields(state, sku, i) for i, sku in enumerate(value)]
    names = [s["seller_sku"] for s in skus]
    if len(set(names)) != len(names):
        raise Refused("skus[].seller_sku must be unique")
    mine = {s.id for s in product.skus} if product else set()
    for sku in skus:
        if sku["id"] and sku["id"] not in mine:
            raise Refused(f"sku {sku['id']} does not belong to the product")
        found = state.sku_by_seller_sku(sku["seller_sku"])
        if found is not None and (product is None or found[0].id != product.id):
            raise Refused(f"seller_sku {sku['seller_sku']} is used by another product")
    if len(skus) > 1:
        combos = [tuple(sorted(s["options"].items())) for s in skus]
        if any(not c for c in combos) or len(set(combos)) != len(combos):
            raise Refused("skus[].sales_attributes are required and must differ between SKUs")
    return skus


def _apply_skus(state: ShopState, product: Product, skus: list[dict[str, Any]]) -> None:
    """The product's SKUs become exactly these (an existing SKU not named is deleted)."""
    by_id = {s.id: s for s in product.skus}
    kept: list[Sku] = []
    for fields in skus:
        sku = by_id.get(fields["id"]) if fields["id"] else None
        if sku is None:
            sku = state.add_sku(
                product, fields["seller_sku"], fields["price"], fields["quantity"], fields["options"]
            )
            product.skus.remove(sku)
        else:
            sku.seller_sku, sku.price, sku.quantity = (
                fields["seller_sku"],
                fields["price"],
                fields["quantity"],
            )
            sku.options = dict(fields["options"])
        if fields["identifier_code"]:
            sku.identifier_code = fields["identifier_code"]
        kept.append(sku)
    product.skus = kept


def _answer(product: Product) -> dict[str, Any]:
    return {
        "product_id": product.id,
        "skus": [{"id": s.id, "seller_sku": s.seller_sku} for s in product.skus],
        "warnings": [],
    }


def register_catalog_routes(route: Route, sandbox: TikTokSandbox) -> None:
    cfg, state = sandbox.config, sandbox.state

    @route(f"/product/{API_VERSION}/products", "create_product", ["POST"])
    def create_product() -> Response:
        body = api_body()
        mode = body.get("save_mode", "LISTING")
        try:
            if mode not in ("LISTING", "AS_DRAFT"):
                raise Refused("save_mode must be LISTING or AS_DRAFT")
            title = _text(body, "title", 255)
            description = _text(body, "description", 10_000)
            category = body.get("category_id")
            if not isinstance(category, str) or not category.isdigit():
                raise Refused("category_id is required (a leaf category)")
            weight = _weight(body.get("package_weight"))
            dimensions = _dimensions(body.get("package_dimensions"), cfg.region == "US")
            with state.lock:
                images = _images(state, body.get("main_images"), mode == "LISTING") or []
                skus = _skus(state, body.get("skus"), None)
                product = state.add_product(title, description, images)
                product.status = "DRAFT" if mode == "AS_DRAFT" else "ACTIVATE"
                product.category_id, product.brand_id = category, str(body.get("brand_id") or "")
                product.package_weight, product.package_dimensions = weight, dimensions
                product.external_product_id = str(body.get("external_product_id") or "")
                _apply_skus(state, product, skus)
                return envelope(_answer(product))
        except Refused as exc:
            return envelope(code=PRODUCT_INVALID, message=f"Invalid product: {exc}.")

    @route(f"/product/{API_VERSION}/products/<product_id>/partial_edit", "partial_edit_product", ["POST"])
    def partial_edit(product_id: str) -> Response:
        body = api_body()
        try:
            with state.lock:
                product = state.products.get(product_id)
                if product is None or product.status == "DELETED":
                    return envelope(code=NOT_FOUND, message="Product not found.")
                title = _text(body, "title", 255) if "title" in body else None
                description = _text(body, "description", 10_000) if "description" in body else None
                images = _images(state, body.get("main_images"), False)
                weight = _weight(body["package_weight"]) if "package_weight" in body else None
                skus = _skus(state, body["skus"], product) if "skus" in body else None
                if title is not None:
                    product.title = title
                if description is not None:
                    product.description = description
                if images is not None:
                    product.images = images
                if weight is not None:
                    product.package_weight = weight
                if skus is not None:
                    _apply_skus(state, product, skus)
                return envelope(_answer(product))
        except Refused as exc:
            return envelope(code=PRODUCT_INVALID, message=f"Invalid product: {exc}.")

    @route(f"/product/{API_VERSION}/images/upload", "upload_product_image", ["POST"])
    def upload_image() -> Response:
        """Multipart `data` (a PNG of at least 100 x 100, or a JPEG) and `use_case`."""
        upload = request.files.get("data")
        use_case = request.form.get("use_case", "MAIN_IMAGE")
        if upload is None or use_case not in USE_CASES:
            return envelope(
                code=BAD_REQUEST, message="data (an image file) and a valid use_case are required."
            )
        data = upload.read(MAX_IMAGE_BYTES + 1)
        size = png_size(data)
        if len(data) > MAX_IMAGE_BYTES:
            return envelope(code=PRODUCT_INVALID, message="Invalid image: larger than 5 MB.")
        if size is None and not data.startswith(b"\xff\xd8\xff"):
            return envelope(code=PRODUCT_INVALID, message="Invalid image: JPG, JPEG or PNG is required.")
        width, height = size or (0, 0)
        if size is not None and min(width, height) < 100:
            return envelope(code=PRODUCT_INVALID, message="Invalid image: at least 100 x 100 pixels.")
        with state.lock:
            uri = f"tos-sandbox-i-{state.new_id()}"
            url = f"https://p16-sandbox.tiktokcdn.test/{uri}~tplv-origin.image"
            state.uploaded_images[uri] = url
        return envelope({"uri": uri, "url": url, "width": width, "height": height, "use_case": use_case})

    def set_statuses(verb: str, change: Callable[[str], str]) -> Response:
        """Deactivate / Activate Products: `change(status)` is the product's new status; TikTok's
        own deactivations (FREEZE, PLATFORM_DEACTIVATED) are refused either way, per product."""
        ids = api_body().get("product_ids")
        if (
            not isinstance(ids, list)
            or not 1 <= len(ids) <= MAX_IDS
            or not all(isinstance(i, str) for i in ids)
        ):
            return envelope(
                code=BAD_REQUEST, message=f"product_ids: 1 to {MAX_IDS} product ids are required."
            )
        errors = []
        with state.lock:
            for product_id in ids:
                product = state.products.get(product_id)
                if product is None or product.status == "DELETED":
                    problem = "Product not found."
                elif product.status in ("FREEZE", "PLATFORM_DEACTIVATED"):
                    problem = f"Product in status {product.status} cannot be {verb}."
                else:
                    product.status, problem = change(product.status), ""
                if problem:
                    errors.append(
                        {"code": DEACTIVATE_REFUSED, "message": problem, "detail": {"product_id": product_id}}
                    )
        return envelope({"errors": errors} if errors else {})

    @route(f"/product/{API_VERSION}/products/deactivate", "deactivate_products", ["POST"])
    def deactivate() -> Response:
        return set_statuses("deactivated", lambda _status: "SELLER_DEACTIVATED")

    @route(f"/product/{API_VERSION}/products/activate", "activate_products", ["POST"])
    def activate() -> Response:
        """A SELLER_DEACTIVATED product goes back on sale (TikTok re-audits it; the sandbox approves
        at once); a draft or live one stays as it is.
        Source: https://partner.tiktokshop.com/docv2/page/activate-product-202309"""
        return set_statuses(
            "activated", lambda status: "ACTIVATE" if status == "SELLER_DEACTIVATED" else status
        )

    @route(f"/logistics/{API_VERSION}/warehouses", "get_warehouse_list", ["GET"])
    def warehouses() -> Response:
        with state.lock:
            return envelope({"warehouses": state.warehouses()})

    @route(
        f"/logistics/{API_VERSION}/warehouses/<warehouse_id>/delivery_options",
        "get_delivery_options",
        ["GET"],
    )
    def delivery_options(warehouse_id: str) -> Response:
        if warehouse_id != DEFAULT_WAREHOUSE:
            return envelope(code=NOT_FOUND, message="Warehouse not found.")
        option = {"id": STANDARD_DELIVERY_OPTION, "name": "Standard shipping", "type": "STANDARD"}
        return envelope({"delivery_options": [option]})

    @route(
        f"/logistics/{API_VERSION}/delivery_options/<option_id>/shipping_providers",
        "get_shipping_providers",
        ["GET"],
    )
    def shipping_providers(option_id: str) -> Response:
        if option_id != STANDARD_DELIVERY_OPTION:
            return envelope(code=NOT_FOUND, message="Delivery option not found.")
        providers = [{"id": i, "name": name} for i, name in SHIPPING_PROVIDERS.items()]
        return envelope({"shipping_providers": providers})
