"""The demo catalogue both sandboxes load with `--demo`, so `make run` maps SKUs across channels.

Import `DEMO_CATALOGUE` when seeding OmniStock's own catalogue for the demo tenant: the same SKUs
then exist in OmniStock, the Shopify sandbox and the WooCommerce sandbox.
"""

from __future__ import annotations

from typing import TypedDict


class DemoItem(TypedDict):
    sku: str
    title: str
    quantity: int
    price: str


DEMO_CATALOGUE: list[DemoItem] = [
    {"sku": "TEE-BLK-S", "title": "Classic Tee Black S", "quantity": 40, "price": "19.00"},
    {"sku": "TEE-BLK-M", "title": "Classic Tee Black M", "quantity": 55, "price": "19.00"},
    {"sku": "TEE-BLK-L", "title": "Classic Tee Black L", "quantity": 35, "price": "19.00"},
    {"sku": "TEE-WHT-S", "title": "Classic Tee White S", "quantity": 25, "price": "19.00"},
    {"sku": "TEE-WHT-M", "title": "Classic Tee White M", "quantity": 30, "price": "19.00"},
    {"sku": "TEE-WHT-L", "title": "Classic Tee White L", "quantity": 12, "price": "19.00"},
    {"sku": "HOOD-GRY-M", "title": "Pullover Hoodie Grey M", "quantity": 18, "price": "49.00"},
    {"sku": "HOOD-GRY-L", "title": "Pullover Hoodie Grey L", "quantity": 9, "price": "49.00"},
    {"sku": "CAP-NVY", "title": "Canvas Cap Navy", "quantity": 60, "price": "15.50"},
    {"sku": "BEANIE-RED", "title": "Knit Beanie Red", "quantity": 3, "price": "12.00"},
    {"sku": "MUG-CER-11", "title": "Ceramic Mug 11oz", "quantity": 120, "price": "9.95"},
    {"sku": "MUG-CER-15", "title": "Ceramic Mug 15oz", "quantity": 80, "price": "11.95"},
    {"sku": "BOTTLE-STL", "title": "Steel Water Bottle", "quantity": 45, "price": "24.00"},
    {"sku": "TOTE-CNV", "title": "Canvas Tote Bag", "quantity": 70, "price": "14.00"},
    {"sku": "NOTE-A5-DOT", "title": "A5 Dotted Notebook", "quantity": 150, "price": "8.50"},
    {"sku": "NOTE-A5-LIN", "title": "A5 Lined Notebook", "quantity": 140, "price": "8.50"},
    {"sku": "PEN-GEL-BLK", "title": "Gel Pen Black", "quantity": 300, "price": "2.25"},
    {"sku": "STICKER-PACK", "title": "Sticker Pack", "quantity": 500, "price": "4.00"},
    {"sku": "SOCK-STR-M", "title": "Striped Socks M", "quantity": 1, "price": "7.00"},
    {"sku": "POSTER-A2", "title": "Poster A2", "quantity": 0, "price": "18.00"},
]
