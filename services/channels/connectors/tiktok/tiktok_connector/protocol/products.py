"""Products, inventory and prices (API 202309; sources in api.py): what PushInventory,
PushPrices, ReadInventory, ReadPrices and ListRemoteProducts send and how the answers read.

TikTok updates stock and prices per product (`/products/{product_id}/inventory/update`,
`/prices/update`), each call carrying that product's SKUs by TikTok sku id, so items are grouped
by product_id. Per-SKU failures come back in `data.errors[{code, message, detail{sku_id,
extra_errors}}]` on a successful envelope.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from omnistock_common.egress import safe_text
from omnistock_common.money import MoneyError, from_minor
from tiktok_connector.protocol.api import (
    MAX_QUANTITY,
    RATE_LIMIT_CODES,
    SERVER_CODES,
    clean_id,
)
from tiktok_connector.protocol.values import (
    InventoryInput,
    Outcome,
    PriceInput,
    RemotePrice,
    RemoteProductData,
    RemoteQuantity,
    read_amount,
)

NO_MAPPING = "no TikTok product_id/sku_id mapping for this SKU"


@dataclass(frozen=True)
class StockEntry:
    """One item of a push, placed: its index in the request and its TikTok ids."""

    index: int
    sku_id: str
    warehouse_id: str
    quantity: int


@dataclass(frozen=True)
class PriceEntry:
    index: int
    sku_id: str
    amount: str
    currency: str


def remote_ids(ids: Mapping[str, str]) -> tuple[str, str, str]:
    """(product_id, sku_id, warehouse_id) of a listing's ids, each "" when absent or malformed."""
    return (
        clean_id(ids.get("product_id", ""), 64),
        clean_id(ids.get("sku_id", ""), 64),
        clean_id(ids.get("warehouse_id", ""), 64),
    )


def group_inventory(
    items: Sequence[InventoryInput],
) -> tuple[dict[int, str], dict[str, list[StockEntry]]]:
    """({index: why refused}, {product_id: entries}); quantities clamped into TikTok's bounds
    (below zero means none to a channel; above the maximum is sold as the maximum)."""
    refused: dict[int, str] = {}
    by_product: dict[str, list[StockEntry]] = {}
    for index, item in enumerate(items):
        product_id, sku_id, warehouse_id = remote_ids(item.ids)
        if not product_id or not sku_id:
            refused[index] = NO_MAPPING
            continue
        quantity = min(max(0, item.quantity), MAX_QUANTITY)
        by_product.setdefault(product_id, []).append(StockEntry(index, sku_id, warehouse_id, quantity))
    return refused, by_product


def inventory_body(entries: Sequence[StockEntry]) -> dict[str, Any]:
    """{"skus": [{"id", "inventory": [{"warehouse_id"?, "quantity"}]}]}, one sku per id."""
    skus: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        level: dict[str, Any] = {"quantity": entry.quantity}
        if entry.warehouse_id:
            level = {"warehouse_id": entry.warehouse_id, "quantity": entry.quantity}
        skus.setdefault(entry.sku_id, []).append(level)
    return {"skus": [{"id": sku_id, "inventory": levels} for sku_id, levels in skus.items()]}


def group_prices(
    items: Sequence[PriceInput], shop_currency: str
) -> tuple[dict[int, str], dict[str, list[PriceEntry]]]:
    """({index: why refused}, {product_id: entries}); a price in another currency than the
    shop's is refused (TikTok sells in the shop's currency only)."""
    refused: dict[int, str] = {}
    by_product: dict[str, list[PriceEntry]] = {}
    for index, item in enumerate(items):
        product_id, sku_id, _ = remote_ids(item.ids)
        if not product_id or not sku_id:
            refused[index] = NO_MAPPING
            continue
        currency = item.price.currency
        if shop_currency and currency != shop_currency:
            refused[index] = f"price in {currency}, but the shop sells in {shop_currency}"
            continue
        if item.price.amount_minor <= 0:
            refused[index] = "TikTok needs a price above zero"
            continue
        try:
            amount = from_minor(item.price.amount_minor, currency)
        except MoneyError as exc:
            refused[index] = str(exc)
            continue
        by_product.setdefault(product_id, []).append(PriceEntry(index, sku_id, amount, currency))
    return refused, by_product


def prices_body(entries: Sequence[PriceEntry]) -> dict[str, Any]:
    return {
        "skus": [{"id": e.sku_id, "price": {"amount": e.amount, "currency": e.currency}} for e in entries]
    }


def sku_errors(data: Any) -> tuple[dict[str, tuple[int, str]], tuple[int, str] | None]:
    """`data.errors` as ({sku_id: (code, message)}, an error naming no SKU or None)."""
    errors = data.get("errors") if isinstance(data, Mapping) else None
    by_sku: dict[str, tuple[int, str]] = {}
    general: tuple[int, str] | None = None
    for error in errors if isinstance(errors, list) else []:
        if not isinstance(error, Mapping):
            continue
        code = error.get("code") if isinstance(error.get("code"), int) else -1
        message = safe_text(error.get("message") or f"TikTok error {code}", 300)
        detail = error.get("detail") if isinstance(error.get("detail"), Mapping) else {}
        sku_id = clean_id(detail.get("sku_id"), 64)
        extra = [
            safe_text(x.get("message") or "", 200)
            for x in detail.get("extra_errors") or []
            if isinstance(x, Mapping) and x.get("message")
        ]
        if extra:
            message = f"{message}: {'; '.join(extra)}"
        if sku_id:
            by_sku[sku_id] = (int(code), message)
        else:
            general = (int(code), message)
    return by_sku, general


def outcome_of(
    sku_id: str, by_sku: Mapping[str, tuple[int, str]], general: tuple[int, str] | None
) -> tuple[Outcome, str]:
    """One SKU's outcome: its own error (transient codes RETRY, others REJECTED), else an error
    naming no SKU (the call failed for all), else APPLIED."""
    found = by_sku.get(sku_id) or general
    if found is None:
        return Outcome.APPLIED, ""
    code, message = found
    if code in RATE_LIMIT_CODES or code in SERVER_CODES:
        return Outcome.RETRY, message
    return Outcome.REJECTED, message


# ----------------------------------------------------------------------------- read back


def product_skus(product: Any) -> list[Mapping[str, Any]]:
    skus = product.get("skus") if isinstance(product, Mapping) else None
    return [s for s in skus if isinstance(s, Mapping)] if isinstance(skus, list) else []


def sku_quantity(sku: Mapping[str, Any], warehouse_id: str = "") -> int | None:
    """Available quantity of a SKU: at `warehouse_id`, else the sum over its warehouses."""
    levels = [lv for lv in sku.get("inventory") or [] if isinstance(lv, Mapping)]
    if warehouse_id:
        levels = [lv for lv in levels if str(lv.get("warehouse_id") or "") == warehouse_id]
        if not levels:
            return None
    total = 0
    for level in levels:
        quantity = level.get("quantity")
        if isinstance(quantity, int) and not isinstance(quantity, bool):
            total += quantity
    return total


def read_quantity(item: InventoryInput, product: Any) -> RemoteQuantity:
    _, sku_id, warehouse_id = remote_ids(item.ids)
    for sku in product_skus(product):
        if str(sku.get("id") or "") == sku_id:
            quantity = sku_quantity(sku, warehouse_id)
            if quantity is not None:
                return RemoteQuantity(item.sku, quantity, True)
    return RemoteQuantity(item.sku)


def read_price(item: PriceInput, product: Any, shop_currency: str) -> RemotePrice:
    """The SKU's price (`price.tax_exclusive_price`, else `sale_price`) in its currency."""
    _, sku_id, _ = remote_ids(item.ids)
    for sku in product_skus(product):
        if str(sku.get("id") or "") != sku_id:
            continue
        price = sku.get("price") if isinstance(sku.get("price"), Mapping) else {}
        currency = str(price.get("currency") or shop_currency or item.price.currency)
        value = price.get("tax_exclusive_price") or price.get("sale_price")
        amount = read_amount(value, currency)
        if amount is not None:
            return RemotePrice(item.sku, True, amount, None)
    return RemotePrice(item.sku)


def remote_products(products: Any) -> list[RemoteProductData]:
    """One RemoteProduct per SKU with a seller_sku (nothing to auto-map by otherwise), with the
    ids pushes need: product_id, sku_id and the first warehouse_id when the SKU has one."""
    out: list[RemoteProductData] = []
    for product in products if isinstance(products, list) else []:
        if not isinstance(product, Mapping):
            continue
        product_id = clean_id(product.get("id"), 64)
        title = safe_text(product.get("title") or "", 255)
        for sku in product_skus(product):
            sku_id, seller_sku = clean_id(sku.get("id"), 64), safe_text(sku.get("seller_sku") or "", 255)
            if not product_id or not sku_id or not seller_sku:
                continue
            ids = {"product_id": product_id, "sku_id": sku_id}
            levels = [lv for lv in sku.get("inventory") or [] if isinstance(lv, Mapping)]
            warehouse = clean_id(levels[0].get("warehouse_id"), 64) if levels else ""
            if warehouse:
                ids["warehouse_id"] = warehouse
            out.append(RemoteProductData(seller_sku, title, ids, sku_quantity(sku) or 0))
    return out
