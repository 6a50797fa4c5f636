"""Fulfillment and catalogue answers read into what the connector returns: which fulfillment-order
line items a shipment covers, and a product variant as a remote product."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from omnistock_common.errors import FailedPrecondition
from shopify_connector.protocol.api import numeric_id
from shopify_connector.protocol.values import FulfillmentLineInput, RemoteProductData

NOTHING_TO_FULFIL = "NOTHING_TO_FULFIL"


def fulfillment_allocation(
    fulfillment_orders: Sequence[Mapping[str, Any]], lines: Sequence[FulfillmentLineInput]
) -> list[dict]:
    """lineItemsByFulfillmentOrder for the requested lines (all open ones when none given).

    A requested line matches fulfillment-order line items by order line id, else by SKU; its
    quantity is spread over them in order. Asking for more than remains is refused rather than
    silently shipping less.
    """
    if not lines:
        return [{"fulfillmentOrderId": fo["id"]} for fo in fulfillment_orders]
    remaining: list[tuple[str, dict[str, Any]]] = []
    for fo in fulfillment_orders:
        for item in (fo.get("lineItems") or {}).get("nodes") or []:
            if int(item.get("remainingQuantity") or 0) > 0:
                remaining.append((fo["id"], {**item, "left": int(item["remainingQuantity"])}))
    picked: dict[str, dict[str, int]] = {}
    for line in lines:
        need = int(line.quantity)
        for fo_id, item in remaining:
            line_item = item.get("lineItem") or {}
            matches = (
                numeric_id(line_item.get("id")) == numeric_id(line.external_line_id)
                if line.external_line_id
                else bool(line.sku) and line_item.get("sku") == line.sku
            )
            if not matches or item["left"] == 0 or need == 0:
                continue
            take = min(need, item["left"])
            item["left"] -= take
            need -= take
            picked.setdefault(fo_id, {})
            picked[fo_id][item["id"]] = picked[fo_id].get(item["id"], 0) + take
        if need > 0:
            label = line.external_line_id or line.sku
            raise FailedPrecondition(
                f"line {label}: {need} more than Shopify has left to fulfil", reason=NOTHING_TO_FULFIL
            )
    return [
        {
            "fulfillmentOrderId": fo_id,
            "fulfillmentOrderLineItems": [{"id": item_id, "quantity": qty} for item_id, qty in items.items()],
        }
        for fo_id, items in picked.items()
    ]


def remote_product(node: Mapping[str, Any], location_id: str) -> RemoteProductData:
    """A productVariants node (with a SKU) as a RemoteProduct, its ids for the listing mapping."""
    product = node.get("product") or {}
    ids = {
        "product_id": str(product.get("id") or ""),
        "variant_id": str(node.get("id") or ""),
        "inventory_item_id": str((node.get("inventoryItem") or {}).get("id") or ""),
        "location_id": location_id,
    }
    return RemoteProductData(
        sku=str(node["sku"]),
        title=str(node.get("displayName") or product.get("title") or node.get("title") or ""),
        ids={k: v for k, v in ids.items() if v},
        quantity=int(node.get("inventoryQuantity") or 0),
    )
