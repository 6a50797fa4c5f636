"""The onboarding import's rules (channels.catalog_import_domain): what a page of the channel's
catalogue becomes, given what OmniStock has and the merchant's choices. Pure: no I/O."""

from __future__ import annotations

from channels.catalog_import_domain import (
    Checkpoint,
    Choice,
    Collision,
    ExistingVariant,
    ImportParams,
    ImportPolicy,
    ImportTally,
    Money,
    RemoteProduct,
    RemoteVariant,
    WithoutSkuRule,
    generated_sku,
    importable_image_urls,
    page_skus,
    plan_page,
    status_of,
)

USD = "USD"


def tee() -> RemoteProduct:
    return RemoteProduct(
        "p1",
        "Tee",
        status="ACTIVE",
        variants=(
            RemoteVariant(
                "v1",
                {"product_id": "p1", "variant_id": "v1"},
                "TEE-S",
                options=(("Size", "S"),),
                price=Money(1999, USD),
                weight_grams=180,
                quantity=4,
            ),
            RemoteVariant(
                "v2",
                {"product_id": "p1", "variant_id": "v2"},
                "",
                options=(("Size", "M"),),
                price=Money(1999, USD),
                quantity=2,
            ),
            RemoteVariant(
                "v3",
                {"product_id": "p1", "variant_id": "v3"},
                "TEE-L",
                options=(("Size", "L"),),
                price=Money(2199, USD),
                barcode="123",
                quantity=0,
            ),
        ),
    )


def existing_tee_l(**changes: object) -> ExistingVariant:
    values: dict[str, object] = {
        "sku": "TEE-L",
        "product_title": "Tee",
        "price": Money(2199, USD),
        "barcode": "123",
        "options": (("Size", "L"),),
        "weight_grams": None,
    }
    values.update(changes)
    return ExistingVariant(**values)  # type: ignore[arg-type]


def test_new_skus_are_created_with_their_quantity_and_a_variant_without_sku_is_skipped() -> None:
    plan = plan_page("c1", [tee()], {}, ImportPolicy())
    assert [w.sku for w in plan.creates] == ["TEE-S", "TEE-L"]
    assert plan.creates[0].product_title == "Tee" and plan.creates[0].product_status == "active"
    assert plan.quantities == {"TEE-S": 4}  # 0 on hand is no ledger row
    assert [n.variant_external_id for n in plan.without_sku] == ["v2"] and plan.skipped == 1
    assert [sku for sku, _ in plan.listings] == ["TEE-S", "TEE-L"]
    assert (plan.products, plan.variants, plan.unchanged, plan.updates) == (1, 3, 0, [])


def test_generate_gives_a_stable_sku_per_connection_and_variant() -> None:
    plan = plan_page("c1", [tee()], {}, ImportPolicy(without_sku=WithoutSkuRule.GENERATE))
    generated = generated_sku("c1", "v2")
    assert generated == generated_sku("c1", "v2") != generated_sku("c2", "v2")
    assert generated.startswith("IMP-") and len(generated) == 16
    assert [w.sku for w in plan.creates] == ["TEE-S", generated, "TEE-L"]
    assert plan.without_sku[0].generated_sku == generated and plan.skipped == 0
    assert page_skus("c1", [tee()], ImportPolicy(without_sku=WithoutSkuRule.GENERATE)) == [
        "TEE-S",
        generated,
        "TEE-L",
    ]
    assert page_skus("c1", [tee()], ImportPolicy()) == ["TEE-S", "TEE-L"]


def test_a_collision_keeps_omnistock_unless_the_merchant_takes_the_channel() -> None:
    ours = {"TEE-L": existing_tee_l(price=Money(2000, USD), product_title="T-shirt")}
    kept = plan_page("c1", [tee()], ours, ImportPolicy())
    assert kept.collisions == [
        Collision("TEE-L", "title", "T-shirt", "Tee"),
        Collision("TEE-L", "price", "2000 USD", "2199 USD"),
    ]
    assert kept.unchanged == 1 and kept.updates == [] and "TEE-L" not in kept.quantities
    assert ("TEE-L", {"product_id": "p1", "variant_id": "v3"}) in kept.listings  # mapped anyway

    per_field = ImportPolicy(resolutions={"TEE-L": {"price": Choice.CHANNEL}})
    [update] = plan_page("c1", [tee()], ours, per_field).updates
    assert (update.price, update.product_title, update.product_status) == (Money(2199, USD), "T-shirt", "")

    [everything] = plan_page("c1", [tee()], ours, ImportPolicy(default=Choice.CHANNEL)).updates
    assert (everything.price, everything.product_title) == (Money(2199, USD), "Tee")


def test_what_the_channel_does_not_say_is_no_collision_and_equal_values_are_unchanged() -> None:
    ours = {"TEE-L": existing_tee_l(weight_grams=250)}  # the channel has no weight for it
    plan = plan_page("c1", [tee()], ours, ImportPolicy(default=Choice.CHANNEL))
    assert plan.collisions == [] and plan.unchanged == 1 and plan.updates == []


def test_a_sku_twice_or_unclean_is_taken_once_or_skipped() -> None:
    twice = RemoteProduct(
        "p2", "Twin", variants=(RemoteVariant("x", {}, "TEE-S"), RemoteVariant("y", {}, "BAD SKU\u202e"))
    )
    seen: set[str] = set()
    plan_page("c1", [tee()], {}, ImportPolicy(), seen)
    second = plan_page("c1", [twice], {}, ImportPolicy(), seen)
    assert second.creates == [] and second.skipped == 2


def test_channel_statuses_map_to_catalog_statuses() -> None:
    assert [status_of(s) for s in ("ACTIVE", "publish", "DRAFT", "pending", "private", "ARCHIVED", "")] == [
        "active",
        "active",
        "draft",
        "draft",
        "draft",
        "archived",
        "active",
    ]
    # Meta's catalog item visibility: published items are on sale, staged or hidden ones are not.
    assert [status_of(s) for s in ("published", "staging", "hidden")] == ["active", "draft", "draft"]
    # TikTok Shop product statuses: live, audit states, and off sale by the seller or by TikTok.
    tiktok = (
        "ACTIVATE",
        "DRAFT",
        "PENDING",
        "FAILED",
        "SELLER_DEACTIVATED",
        "PLATFORM_DEACTIVATED",
        "FREEZE",
    )
    assert [status_of(s) for s in tiktok] == [
        "active",
        "draft",
        "draft",
        "draft",
        "archived",
        "archived",
        "archived",
    ]
    # eBay's offer status: a withdrawn or never published offer is not on sale.
    assert [status_of(s) for s in ("PUBLISHED", "UNPUBLISHED")] == ["active", "draft"]


def test_params_and_checkpoint_round_trip_through_json() -> None:
    params = ImportParams(
        True, ImportPolicy(Choice.CHANNEL, {"A": {"price": Choice.OMNISTOCK}}, WithoutSkuRule.GENERATE)
    )
    assert ImportParams.from_json(params.to_json()) == params
    assert params.to_json() == ImportParams.from_json(params.to_json()).to_json()  # stable: same job reused
    tally = ImportTally(dry_run=True)
    tally.add(plan_page("c1", [tee()], {}, ImportPolicy()), mapped=2, quantities_set=1, errors=["X: refused"])
    checkpoint = Checkpoint("cur", 3, False, ["TEE-S"], tally, {"3": ["TEE-L"]})
    again = Checkpoint.from_json(checkpoint.to_json())
    assert again == checkpoint and ImportTally.from_json(tally.to_json()) == tally
    assert (tally.to_create, tally.skipped, tally.mapped, tally.errors) == (2, 2, 2, ["X: refused"])


def test_only_image_urls_the_catalog_takes_are_imported() -> None:
    ok = [f"https://cdn.example.test/{i}.jpg" for i in range(25)]
    given = [
        " http://cdn.example.test/a.png ",
        "ftp://cdn.example.test/a.png",
        "//cdn.example.test/a.png",
        "https://user:pw@cdn.example.test/a.png",
        "https://cdn.example.test/a b.png",
        "https://cdn.example.test/" + "a" * 2048,
        "http://cdn.example.test/a.png",
        *ok,
    ]
    kept = importable_image_urls(given)
    assert kept == ("http://cdn.example.test/a.png", *ok[:19])
