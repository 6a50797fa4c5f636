"""A push is cut into chunks only after the SKUs of one channel product are put side by side
(push_kinds.grouped_by_product): the connectors make one vendor call per product and chunk, so
chunks cut in Redis hash order spread over as many products as they hold SKUs. Pure."""

from __future__ import annotations

from channels.price_domain import ChannelPrice, Money
from channels.sync.push_kinds import Planned, PlannedPrice, grouped_by_product
from channels.sync.repository import ListingPushState


def listing(product: str, variant: str) -> ListingPushState:
    ids = {"product_id": product, "variant_id": variant} if product else {"variant_id": variant}
    return ListingPushState(ids, None, None)


def price(sku: str) -> PlannedPrice:
    return PlannedPrice(sku, "", ChannelPrice(Money(1000, "USD")), 1)


def products_per_chunk(
    plan: list[PlannedPrice], listings: dict[str, ListingPushState], size: int
) -> list[int]:
    return [
        len({listings[p.sku].external_ids["product_id"] for p in plan[start : start + size]})
        for start in range(0, len(plan), size)
    ]


def test_the_variants_of_a_product_go_out_together_so_a_chunk_needs_one_call_per_product() -> None:
    # 3 products x 4 variants, pending in an interleaved (hash-like) order.
    listings = {
        f"P{p}-V{v}": listing(f"gid://shopify/Product/{p}", f"{p}{v}") for p in range(3) for v in range(4)
    }
    interleaved = [price(f"P{p}-V{v}") for v in range(4) for p in range(3)]
    assert products_per_chunk(interleaved, listings, 4) == [3, 3, 3]  # 9 vendor calls as pending

    grouped = grouped_by_product(interleaved, listings)

    assert products_per_chunk(grouped, listings, 4) == [1, 1, 1]  # 3: one per product
    assert sorted(p.sku for p in grouped) == sorted(p.sku for p in interleaved)  # nothing lost or added
    # Within a product the pending order is kept (the sort is stable).
    assert [p.sku for p in grouped if p.sku.startswith("P1-")] == ["P1-V0", "P1-V1", "P1-V2", "P1-V3"]


def test_stock_is_grouped_too_and_a_listing_without_a_product_id_still_goes_out() -> None:
    listings = {
        "A1": listing("20", "201"),
        "B1": listing("10", "101"),
        "A2": listing("20", "202"),
        "LOOSE": listing("", "999"),
        "B2": listing("10", "102"),
    }
    plan = [Planned(sku, "", 1, 1, False) for sku in ("A1", "B1", "A2", "LOOSE", "B2")]
    assert [p.sku for p in grouped_by_product(plan, listings)] == ["LOOSE", "B1", "B2", "A1", "A2"]
