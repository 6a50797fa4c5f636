"""Publishing's rules without I/O: what a publish request may name, owned fields, the state a
listing shows, retry delays and the job's tally."""

from __future__ import annotations

from datetime import timedelta

import pytest

from channels.price_domain import ChannelPrice, Money
from channels.publish_domain import (
    OWNED_FIELDS,
    RETRY_CAP,
    ProductListing,
    ProductView,
    PublishRequest,
    PublishTally,
    VariantView,
    owned_fields_from_json,
    owned_fields_json,
    retry_delay,
    validate_owned_fields,
)
from omnistock_common.errors import InvalidArgument

PRODUCT = "0b6f4b59-37a4-4f55-9d7b-6a5f0e3c1a11"


def test_a_publish_request_names_skus_or_products_and_refuses_bad_ones_by_field() -> None:
    checked = PublishRequest.checked(["TEE-1", "TEE-1", "TEE-2"], [PRODUCT])
    assert checked.skus == ("TEE-1", "TEE-2") and checked.product_ids == (PRODUCT,)
    assert PublishRequest.from_json(checked.to_json()) == checked
    with pytest.raises(InvalidArgument) as empty:
        PublishRequest.checked([], [])
    assert [v.field for v in empty.value.violations] == ["skus"]
    with pytest.raises(InvalidArgument) as bad:
        PublishRequest.checked([" padded"], ["not-a-uuid", PRODUCT.upper()])
    assert [v.field for v in bad.value.violations] == ["skus[0]", "product_ids[0]", "product_ids[1]"]
    with pytest.raises(InvalidArgument):
        PublishRequest.checked([f"S-{i}" for i in range(1001)], [])


def test_owned_fields_are_checked_ordered_and_all_by_default() -> None:
    assert validate_owned_fields(["prices", "title"]) == ("title", "prices")
    with pytest.raises(InvalidArgument) as unknown:
        validate_owned_fields(["title", "colour"])
    assert [v.field for v in unknown.value.violations] == ["owned_fields[1]"]
    assert owned_fields_from_json(None) == OWNED_FIELDS
    assert owned_fields_json(OWNED_FIELDS) is None
    stored = owned_fields_json(("description",))
    assert stored is not None and owned_fields_from_json(stored) == ("description",)
    with pytest.raises(InvalidArgument):
        validate_owned_fields([])  # the connector contract reads an empty list as "all"


def _listing(**overrides: object) -> ProductListing:
    values: dict[str, object] = {
        "tenant_id": "t",
        "connection_id": "c",
        "product_id": PRODUCT,
        "external_id": "",
        "variant_ids": {},
        "wanted_version": 3,
        "published_version": None,
        "removed": False,
        "pending": True,
        "attempts": 0,
        "last_error": "",
        "error_version": None,
    }
    values.update(overrides)
    return ProductListing(**values)  # type: ignore[arg-type]


def test_a_listing_shows_pending_published_error_or_archived() -> None:
    assert _listing().state == "pending"
    assert _listing(pending=False, published_version=3).state == "published"
    assert _listing(pending=False, last_error="Title can't be blank", error_version=3).state == "error"
    # A retry reason (no error version) is not a refusal; an old refusal under a newer version neither.
    assert _listing(pending=False, last_error="HTTP 503", published_version=3).state == "published"
    assert _listing(pending=False, removed=True, published_version=3).state == "archived"


def test_retries_back_off_exponentially_up_to_the_cap() -> None:
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3)] == [2, 4, 8]
    assert retry_delay(0) == timedelta(seconds=2)
    assert retry_delay(50) == RETRY_CAP


def test_prices_join_their_variants_and_the_tally_accounts_for_every_product() -> None:
    view = ProductView(PRODUCT, "Tee", "", "active", 3, (VariantView("A"), VariantView("B")))
    price = ChannelPrice(Money(1999, "EUR"))
    priced = view.with_prices({"A": price})
    assert [v.price for v in priced.variants] == [price, None] and priced.skus == ("A", "B")
    tally = PublishTally(not_found=["GONE-1"])
    tally.add_outcomes(
        [("p1", "applied", ""), ("p2", "rejected", "Title can't be blank"), ("p3", "retry", "429")]
    )
    assert PublishTally.from_json(tally.to_json()) == tally
    assert tally.summary() == "published 1; rejected 1; 1 waiting to retry; 1 not in the catalog"
