"""Catalog items (pure): choosing the connection's catalog, items_batch requests for stock and
prices, the batch status, and items read back.

items_batch (CHANNELS.md 3.1 [V];
https://developers.facebook.com/docs/marketing-api/catalog-batch/reference): POST /{catalog_id}/items_batch
with item_type=PRODUCT_ITEM and requests=[{method: UPDATE, data: {id: <retailer_id>, ...}}]; the
answer is {handles: [...]}. GET /{catalog_id}/check_batch_request_status?handle=..&load_ids_of_invalid_requests=true
answers data=[{handle, status, errors: [{line, id, message}], ids_of_invalid_requests, ...}]
(params from facebook-python-business-sdk adobjects/productcatalog.py get_check_batch_request_status);
"finished" is terminal, anything else is in progress.
Items: GET /{catalog_id}/products (ProductItem fields id, retailer_id, name, inventory, price,
sale_price, currency, availability) with `filter` = a product-set rule such as
{"retailer_id": {"is_any": [...]}} (the catalog products edge takes `filter` (Object),
`bulk_pagination`, `return_only_approved_products`: SDK adobjects/productcatalog.py get_products;
the fields are SDK adobjects/productitem.py's) and cursor paging (paging.cursors.after, paging.next).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from meta_connector.protocol.values import (
    Amount,
    BatchStatus,
    Catalog,
    InventoryInput,
    PriceInput,
    RemotePrice,
    RemoteProductData,
    RemoteQuantity,
    read_amount,
)
from omnistock_common.egress import safe_text
from omnistock_common.money import MoneyError, from_minor

IN_STOCK = "in stock"
OUT_OF_STOCK = "out of stock"
FINISHED = "finished"


def choose_catalog(catalogs: Sequence[Catalog], wanted: str) -> Catalog | str:
    """The connection's catalog: `wanted` (a catalog id) if the user can manage it, else the only
    one; otherwise why not (naming the catalogs so the merchant can pick one as store_id)."""
    if wanted:
        for catalog in catalogs:
            if catalog.id == wanted:
                return catalog
        return f"catalog {wanted} is not one this Meta account manages ({names(catalogs)})"
    if len(catalogs) == 1:
        return catalogs[0]
    if not catalogs:
        return "this Meta account manages no product catalog (create one in Commerce Manager)"
    return f"this Meta account manages several catalogs; set store_id to one of: {names(catalogs)}"


def names(catalogs: Iterable[Catalog]) -> str:
    return ", ".join(f"{c.id} ({c.name})" for c in catalogs) or "none"


def meta_price(amount: Amount) -> str:
    """Meta's price string: "<decimal amount> <ISO currency>", e.g. "9.99 USD"."""
    return f"{from_minor(amount.amount_minor, amount.currency)} {amount.currency}"


def inventory_request(item: InventoryInput) -> dict[str, Any]:
    quantity = max(0, int(item.quantity))
    return {
        "method": "UPDATE",
        "data": {
            "id": item.sku,
            "inventory": quantity,
            "availability": IN_STOCK if quantity > 0 else OUT_OF_STOCK,
        },
    }


def price_request(item: PriceInput) -> dict[str, Any]:
    """A compare-at ("was") price above the price becomes Meta's `price` with the selling price as
    `sale_price`; otherwise `price` alone and an empty sale_price clears an old sale."""
    compare = item.compare_at
    if (
        compare is not None
        and compare.currency == item.price.currency
        and compare.amount_minor > item.price.amount_minor
    ):
        data = {"id": item.sku, "price": meta_price(compare), "sale_price": meta_price(item.price)}
    else:
        data = {"id": item.sku, "price": meta_price(item.price), "sale_price": ""}
    return {"method": "UPDATE", "data": data}


def price_problem(item: PriceInput) -> str | None:
    try:
        from_minor(item.price.amount_minor, item.price.currency)
    except (MoneyError, ValueError):
        return f"unsupported currency {item.price.currency!r}"
    if item.price.amount_minor < 0:
        return "a price cannot be negative"
    return None


def items_batch_form(requests: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The items_batch form body; allow_upsert=false so an unknown SKU is refused, not created
    half-empty (UPDATE would otherwise create the item: CHANNELS.md 3.1)."""
    return {
        "item_type": "PRODUCT_ITEM",
        "allow_upsert": "false",
        "requests": json.dumps(list(requests), separators=(",", ":")),
    }


def batch_handles(body: Any) -> list[str]:
    handles = body.get("handles") if isinstance(body, Mapping) else None
    return [str(h) for h in handles if h] if isinstance(handles, list) else []


def batch_status(body: Any) -> BatchStatus:
    """The first entry of check_batch_request_status: finished?, refused ids with their messages."""
    data = body.get("data") if isinstance(body, Mapping) else None
    entry = data[0] if isinstance(data, list) and data and isinstance(data[0], Mapping) else {}
    status = str(entry.get("status") or "")
    rejected: dict[str, str] = {}
    general: list[str] = []
    for error in entry.get("errors") or []:
        if not isinstance(error, Mapping):
            continue
        message = safe_text(str(error.get("message") or "refused by Meta"), 300)
        item_id = str(error.get("id") or error.get("retailer_id") or "")
        if item_id:
            rejected.setdefault(item_id, message)
        else:
            general.append(message)
    for item_id in entry.get("ids_of_invalid_requests") or []:
        rejected.setdefault(str(item_id), "Meta refused this item (invalid request)")
    return BatchStatus(
        finished=status.lower() == FINISHED, status=status, rejected=rejected, general_errors=tuple(general)
    )


def retailer_filter(skus: Sequence[str]) -> str:
    return json.dumps({"retailer_id": {"is_any": list(skus)}}, separators=(",", ":"))


def page_items(body: Any) -> tuple[list[Mapping[str, Any]], str]:
    """An edge page's items and the cursor of the next page ("" on the last page)."""
    if not isinstance(body, Mapping):
        return [], ""
    data = [d for d in body.get("data") or [] if isinstance(d, Mapping)]
    paging = body.get("paging") if isinstance(body.get("paging"), Mapping) else {}
    after = ((paging.get("cursors") or {}).get("after") or "") if paging.get("next") else ""
    return data, str(after)


def _quantity(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


_NUMBER = re.compile(r"(\d[\d,.\s]*)")
_CODE = re.compile(r"\b([A-Z]{3})\b")


def read_meta_price(value: Any, currency: str) -> Amount | None:
    """A ProductItem price read back ("9.99 USD", "$9.99" or "9,99 €" [M]: Graph formats it) in
    `currency` (the item's `currency` field, or the code inside the string)."""
    text = str(value or "").strip()
    if not text:
        return None
    code = currency or (m.group(1) if (m := _CODE.search(text)) else "")
    number = _NUMBER.search(text)
    if not number or not code:
        return None
    digits = number.group(1).replace(" ", "").strip(",.")
    if "," in digits and "." in digits:
        digits = digits.replace(",", "")
    elif "," in digits:
        digits = digits.replace(",", ".")
    try:
        Decimal(digits)
    except InvalidOperation:
        return None
    return read_amount(digits, code.upper())


def remote_quantity(sku: str, item: Mapping[str, Any] | None) -> RemoteQuantity:
    if item is None:
        return RemoteQuantity(sku)
    return RemoteQuantity(sku, _quantity(item.get("inventory")), True)


def remote_price(sku: str, item: Mapping[str, Any] | None) -> RemotePrice:
    """With a sale price, the selling price is sale_price and the "was" price is price."""
    if item is None:
        return RemotePrice(sku)
    currency = str(item.get("currency") or "").upper()
    price = read_meta_price(item.get("price"), currency)
    sale = read_meta_price(item.get("sale_price"), currency)
    if price is None:
        return RemotePrice(sku)
    if sale is not None and sale.amount_minor < price.amount_minor:
        return RemotePrice(sku, True, sale, price)
    return RemotePrice(sku, True, price, None)


def remote_product(item: Mapping[str, Any]) -> RemoteProductData:
    retailer_id = safe_text(str(item.get("retailer_id") or ""), 255)
    return RemoteProductData(
        sku=retailer_id,
        title=safe_text(str(item.get("name") or ""), 255),
        ids={"product_item_id": str(item.get("id") or ""), "retailer_id": retailer_id},
        quantity=_quantity(item.get("inventory")),
    )
