"""What UpsertProducts/ArchiveProducts make of WooCommerce's answers (woocommerce_connector.
publishing) over a scripted client: per-item errors, a refused batch, a store gone quiet."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from omnistock_common.errors import DomainError
from omnistock_connector_kit.channel_http import ChannelHttpError
from omnistock_connector_kit.publishing import ProductRef, ProductUpsert, VariantUpsert
from omnistock_connector_kit.values import Amount, Outcome
from woocommerce_connector import publishing


class ScriptedStore:
    """POST answers in order (a dict is a 200 JSON body, an int a bare status, an exception raised);
    GET lists from `lists` by path."""

    def __init__(self, *answers: Any, lists: dict[str, list[dict[str, Any]]] | None = None) -> None:
        self.answers = list(answers)
        self.lists = lists or {}
        self.posted: list[tuple[str, Any, bool]] = []

    def post(self, path: str, body: Any, *, idempotent: bool) -> httpx.Response:
        self.posted.append((path, body, idempotent))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, tuple):
            return httpx.Response(answer[0], json=answer[1])
        return httpx.Response(200, json=answer)

    def read_list(self, path: str, params: Any, what: str) -> list[dict[str, Any]]:
        return self.lists.get(path, [])

    def raise_for_status(self, response: httpx.Response, what: str) -> None:
        assert response.status_code < 400


def simple(name: str) -> ProductUpsert:
    return ProductUpsert(name, title=name, variants=(VariantUpsert(f"{name}-1", price=Amount(100, "USD")),))


def variable(name: str) -> ProductUpsert:
    return ProductUpsert(
        name,
        title=name,
        variants=tuple(VariantUpsert(f"{name}-{s}", options=(("Size", s),)) for s in ("S", "M")),
    )


def test_per_item_errors_reject_their_product_only() -> None:
    store = ScriptedStore(
        {
            "create": [
                {"id": 10},
                {
                    "id": 0,
                    "error": {"code": "product_invalid_sku", "message": "dup", "data": {"status": 400}},
                },
                {"id": 12},
            ]
        },
        {
            "create": [
                {"id": 13},
                {"id": 0, "error": {"code": "product_invalid_sku", "data": {"status": 400}}},
            ]
        },
    )
    results = publishing.upsert_products(
        store, [simple("A"), simple("B"), variable("C")], store_currency="USD", weight_unit="kg"
    )  # type: ignore[arg-type]
    assert [(r.product_id, r.outcome, r.external_id) for r in results] == [
        ("A", Outcome.APPLIED, "10"),
        ("B", Outcome.REJECTED, ""),
        ("C", Outcome.REJECTED, "12"),  # its id travels back, so the next call updates it
    ]
    assert results[1].message == "rejected by WooCommerce (product_invalid_sku)"
    assert results[2].message == "C-M: rejected by WooCommerce (product_invalid_sku)"
    assert [path for path, _, _ in store.posted] == ["products/batch", "products/12/variations/batch"]
    # Creating is not idempotent: the HTTP layer retries it only when surely not sent.
    assert [idempotent for *_, idempotent in store.posted] == [False, False]


def test_the_products_batch_failing_raises_and_a_refused_batch_rejects_its_products() -> None:
    with pytest.raises(DomainError):
        publishing.upsert_products(
            ScriptedStore(ChannelHttpError("HTTP 503", status=503, retryable=True)),
            [simple("A")],
            store_currency="",
            weight_unit="kg",
        )  # type: ignore[arg-type]
    refused = ScriptedStore(
        (413, {"code": "woocommerce_rest_request_entity_too_large", "message": "x", "data": {"status": 413}})
    )
    [result] = publishing.upsert_products(refused, [simple("A")], store_currency="", weight_unit="kg")  # type: ignore[arg-type]
    assert (result.outcome, result.message) == (
        Outcome.REJECTED,
        "rejected by WooCommerce (woocommerce_rest_request_entity_too_large)",
    )


def test_a_variations_batch_failing_leaves_its_product_and_the_later_ones_retry() -> None:
    store = ScriptedStore(
        {"create": [{"id": 20}, {"id": 21}]},
        ChannelHttpError("HTTP 502", status=502, retryable=True),
    )
    results = publishing.upsert_products(
        store, [variable("A"), variable("B")], store_currency="", weight_unit="kg"
    )  # type: ignore[arg-type]
    assert [(r.outcome, r.external_id) for r in results] == [(Outcome.RETRY, "20"), (Outcome.RETRY, "21")]
    assert len(store.posted) == 2  # B's variations were not tried against a store that just failed


def test_updates_name_unknown_products_and_simple_ones_given_options() -> None:
    store = ScriptedStore(lists={"products": [{"id": 5, "type": "simple", "attributes": []}]})
    unknown = ProductUpsert("A", external_id="4", title="A", variants=(VariantUpsert("A-1"),))
    widened = ProductUpsert("B", external_id="5", title="B", variants=variable("B").variants)
    results = publishing.upsert_products(store, [unknown, widened], store_currency="", weight_unit="kg")  # type: ignore[arg-type]
    assert [r.outcome for r in results] == [Outcome.REJECTED, Outcome.REJECTED]
    assert "no product 4" in results[0].message and "simple product" in results[1].message
    assert store.posted == []


def test_archive_is_status_draft_per_product() -> None:
    store = ScriptedStore(
        {
            "update": [
                {"id": 1, "status": "draft"},
                {"id": 2, "error": {"code": "woocommerce_rest_product_invalid_id", "data": {"status": 400}}},
            ]
        }
    )
    results = publishing.archive_products(
        store, [ProductRef("A", "1"), ProductRef("B", "2"), ProductRef("C", "x")]
    )  # type: ignore[arg-type]
    assert [r.outcome for r in results] == [Outcome.APPLIED, Outcome.REJECTED, Outcome.REJECTED]
    assert store.posted[0][1] == {"update": [{"id": 1, "status": "draft"}, {"id": 2, "status": "draft"}]}
