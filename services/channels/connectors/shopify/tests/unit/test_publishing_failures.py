"""What UpsertProducts/ArchiveProducts make of failures (shopify_connector.publishing) over a
scripted GraphQL envelope: the first product failing raises, a later one leaves the rest RETRY,
userErrors reject one product only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from omnistock_common.errors import DomainError
from omnistock_connector_kit.channel_http import ChannelHttpError
from omnistock_connector_kit.publishing import ProductRef, ProductUpsert, VariantUpsert
from omnistock_connector_kit.values import Amount, Outcome
from shopify_connector import publishing


class ScriptedShopify:
    """Answers each GraphQL call with the next scripted `data` (or raises it)."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.sent: list[tuple[str, Mapping[str, Any]]] = []

    def graphql(self, document: str, variables: Mapping[str, Any] | None = None, **_: Any) -> dict[str, Any]:
        self.sent.append((document, dict(variables or {})))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def created(number: int, sku: str) -> dict[str, Any]:
    variant = {
        "id": f"gid://shopify/ProductVariant/{number}1",
        "sku": sku,
        "inventoryItem": {"id": f"gid://shopify/InventoryItem/{number}2"},
    }
    return {
        "productSet": {
            "product": {"id": f"gid://shopify/Product/{number}", "variants": {"nodes": [variant]}},
            "userErrors": [],
        }
    }


def product(name: str) -> ProductUpsert:
    return ProductUpsert(name, title=name, variants=(VariantUpsert(f"{name}-1", price=Amount(100, "USD")),))


DOWN = ChannelHttpError("HTTP 503", status=503, retryable=True)


def test_a_failure_before_anything_applied_is_raised() -> None:
    with pytest.raises(DomainError):
        publishing.upsert_products(ScriptedShopify(DOWN), [product("A"), product("B")], location_id="L")  # type: ignore[arg-type]


def test_a_later_failure_leaves_that_product_and_the_rest_retry() -> None:
    blank = {
        "productSet": {
            "product": None,
            "userErrors": [{"code": "INVALID_PRODUCT", "field": ["input", "title"], "message": "x"}],
        }
    }
    shop = ScriptedShopify(created(1, "A-1"), blank, DOWN)
    results = publishing.upsert_products(
        shop, [product("A"), product("B"), product("C"), product("D")], location_id="gid://shopify/Location/9"
    )  # type: ignore[arg-type]
    assert [(r.product_id, r.outcome) for r in results] == [
        ("A", Outcome.APPLIED),
        ("B", Outcome.REJECTED),
        ("C", Outcome.RETRY),
        ("D", Outcome.RETRY),
    ]
    assert results[0].variants[0].ids == {
        "product_id": "gid://shopify/Product/1",
        "variant_id": "gid://shopify/ProductVariant/11",
        "inventory_item_id": "gid://shopify/InventoryItem/12",
        "location_id": "gid://shopify/Location/9",
    }
    assert results[1].message == "rejected by Shopify (INVALID_PRODUCT at input.title)"


def test_an_update_touching_variants_reads_them_first_and_a_missing_product_is_rejected() -> None:
    update = ProductUpsert(
        "A",
        external_id="7",
        variants=(VariantUpsert("A-1", external_id="70"),),
        owned_fields=frozenset({"prices"}),
    )
    shop = ScriptedShopify({"product": None})
    [result] = publishing.upsert_products(shop, [update], location_id="L")  # type: ignore[arg-type]
    assert (result.outcome, result.message) == (
        Outcome.REJECTED,
        "rejected by Shopify (PRODUCT_DOES_NOT_EXIST)",
    )
    assert shop.sent[0][1] == {"id": "gid://shopify/Product/7", "after": None}


def test_archive_per_product() -> None:
    shop = ScriptedShopify(
        {
            "productUpdate": {
                "product": {"id": "gid://shopify/Product/1", "status": "ARCHIVED"},
                "userErrors": [],
            }
        },
        {
            "productUpdate": {
                "product": None,
                "userErrors": [{"field": ["id"], "message": "Product does not exist"}],
            }
        },
    )
    refs = [ProductRef("A", "1"), ProductRef("B", "gid://shopify/Product/2"), ProductRef("C", "")]
    results = publishing.archive_products(shop, refs)  # type: ignore[arg-type]
    assert [r.outcome for r in results] == [Outcome.APPLIED, Outcome.REJECTED, Outcome.REJECTED]
    assert shop.sent[0][1] == {"product": {"id": "gid://shopify/Product/1", "status": "ARCHIVED"}}
    assert results[1].message == "rejected by Shopify (INVALID at id)"
