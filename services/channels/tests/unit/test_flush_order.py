"""A push's plan keeps each product's SKUs together (flusher.by_product): channels write variants
per product, so a chunk of whole products is a few calls instead of one or two per SKU."""

from __future__ import annotations

import random

from channels.sync.flusher import by_product
from channels.sync.push_kinds import Planned
from channels.sync.repository import ListingPushState


def test_a_plan_is_grouped_by_product_before_it_is_chunked() -> None:
    listings = {
        f"P{p}-V{v}": ListingPushState({"product_id": str(p), "variation_id": f"{p}{v}"}, None, None)
        for p in range(5)
        for v in range(20)
    }
    listings["SIMPLE"] = ListingPushState({"inventory_item_id": "77"}, None, None)
    plan = [Planned(sku, f"{i}|1|0", i, 1, False) for i, sku in enumerate(listings)]
    random.Random(7).shuffle(plan)  # the pending hash's order

    grouped = by_product(plan, listings)

    assert sorted(p.sku for p in grouped) == sorted(listings)
    products = [listings[p.sku].external_ids.get("product_id", "") for p in grouped]
    # Each product's SKUs are contiguous: a chunk of 20 is one product's variations (one call).
    assert [products[i : i + 20] for i in range(1, len(products), 20)] == [[str(p)] * 20 for p in range(5)]
    assert grouped[0].sku == "SIMPLE"  # no product id: first, on its own
