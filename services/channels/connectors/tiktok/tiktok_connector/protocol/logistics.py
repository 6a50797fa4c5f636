"""Warehouses, delivery options and shipping providers (API 202309, pure; paths in api.py).

TikTok's Mark Package As Shipped takes a `shipping_provider_id`; OmniStock's fulfilment carries a
carrier name ("UPS"). The providers a package may use are those of its delivery option:
`GET /logistics/202309/delivery_options/{delivery_option_id}/shipping_providers` answers
`data.shipping_providers[{id, name}]` (lywzx/tiktok-partner-api src/logistics/GetShippingProviders.ts).
The delivery option is the order's `delivery_option_id` (Get Order Detail, src/orders/GetOrderDetail.ts);
an order without one falls back on the warehouse's options
(`GET /logistics/202309/warehouses/{warehouse_id}/delivery_options` → `data.delivery_options[{id,
name, type}]`, GetWarehouseDeliveryOptions.ts). Warehouses (`GET /logistics/202309/warehouses` →
`data.warehouses[{id, name, effect_status ENABLED|DISABLED|RESTRICTED, type SALES_WAREHOUSE|
RETURN_WAREHOUSE, is_default}]`, GetWarehouseList.ts): the shop's default sales warehouse is where
published SKUs keep their stock unless the connection names one (setting `warehouse_id`).
Source: https://github.com/lywzx/tiktok-partner-api/tree/main/packages/tk-origin-api/src/logistics
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from omnistock_common.egress import safe_text
from tiktok_connector.protocol.api import clean_id

SALES_WAREHOUSE = "SALES_WAREHOUSE"
ENABLED = "ENABLED"


@dataclass(frozen=True)
class Provider:
    id: str
    name: str


def _list(data: Any, key: str) -> list[Mapping[str, Any]]:
    items = data.get(key) if isinstance(data, Mapping) else None
    return [i for i in items if isinstance(i, Mapping)] if isinstance(items, list) else []


def default_warehouse(data: Any) -> str:
    """The sales warehouse new SKUs stock in: the enabled default one, else the first enabled
    sales warehouse, else "" (the connection must then name one)."""
    sales = [
        w
        for w in _list(data, "warehouses")
        if str(w.get("type") or SALES_WAREHOUSE) == SALES_WAREHOUSE
        and str(w.get("effect_status") or ENABLED) == ENABLED
        and clean_id(w.get("id"), 64)
    ]
    for warehouse in sorted(sales, key=lambda w: not w.get("is_default")):
        return clean_id(warehouse.get("id"), 64)
    return ""


def delivery_option_ids(data: Any) -> list[str]:
    return [i for i in (clean_id(o.get("id"), 64) for o in _list(data, "delivery_options")) if i]


def providers(data: Any) -> list[Provider]:
    out = []
    for item in _list(data, "shipping_providers"):
        provider_id = clean_id(item.get("id"), 64)
        if provider_id:
            out.append(Provider(provider_id, safe_text(item.get("name") or "", 100)))
    return out


def _key(name: str) -> str:
    """Names compared without case, spaces or punctuation ("U.S.P.S" = "usps", "Fed Ex" = "FedEx")."""
    return "".join(c for c in name.lower() if c.isalnum())


def match_provider(carrier: str, available: Sequence[Provider]) -> str:
    """The id of the first provider (in TikTok's order) whose name is the carrier's; "" when none is."""
    wanted = _key(carrier)
    return next((p.id for p in available if wanted and _key(p.name) == wanted), "")


def unknown_carrier(carrier: str, available: Sequence[Provider]) -> str:
    names = sorted({p.name for p in available if p.name})
    listed = ", ".join(names[:30]) if names else "none"
    return f"TikTok has no shipping provider named {carrier!r} for this order; available: {listed}"
