"""connector.v1 messages ↔ the WooCommerce protocol's plain values: the only module of the
connector besides servicer.py and server.py that touches generated code (the protocol package
stays free of it)."""

from __future__ import annotations

from collections.abc import Iterable

from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock_connector_kit.values_proto import OUTCOMES, by_name
from omnistock_connector_kit.values_proto import catalog_to_proto as catalog_to_proto
from omnistock_connector_kit.values_proto import order_to_proto as order_to_proto
from omnistock_connector_kit.values_proto import product_refs as product_refs
from omnistock_connector_kit.values_proto import product_results_to_proto as product_results_to_proto
from omnistock_connector_kit.values_proto import product_upserts as product_upserts
from omnistock_connector_kit.values_proto import remote_prices_to_proto as remote_prices_to_proto
from woocommerce_connector import protocol as p
from woocommerce_connector.client import ProductsPage, ReadResult

WEBHOOK_KINDS = by_name(p.WebhookKind, pb.WebhookKind, "WEBHOOK_KIND_")


def results_in_request_order(skus: list[str], outcomes: list[p.ItemOutcome]) -> list[pb.ItemResult]:
    """One result per requested item, in the request's order (duplicate SKUs stay paired)."""
    queues: dict[str, list[p.ItemOutcome]] = {}
    for outcome in outcomes:
        queues.setdefault(outcome.sku, []).append(outcome)
    results = []
    for sku in skus:
        queued = queues.get(sku)
        outcome = queued.pop(0) if queued else p.ItemOutcome(sku, p.Outcome.RETRY, "no result")
        results.append(pb.ItemResult(sku=sku, outcome=OUTCOMES[outcome.outcome], message=outcome.message))
    return results


def price_inputs(items: Iterable[pb.PriceItem]) -> list[p.PriceInput]:
    return [
        p.PriceInput(
            sku=i.sku,
            amount_minor=i.price.amount_minor,
            currency=i.price.currency,
            compare_at_minor=i.compare_at_price.amount_minor if i.HasField("compare_at_price") else None,
            compare_at_currency=i.compare_at_price.currency,
            ids=i.remote.ids,
        )
        for i in items
    ]


def quantities_to_proto(results: Iterable[ReadResult]) -> list[pb.RemoteQuantity]:
    return [pb.RemoteQuantity(sku=r.sku, quantity=r.quantity, found=r.found) for r in results]


def products_to_proto(page: ProductsPage) -> pb.ListRemoteProductsResponse:
    return pb.ListRemoteProductsResponse(
        products=[
            pb.RemoteProduct(sku=r.sku, title=r.title, remote=pb.RemoteIds(ids=r.ids), quantity=r.quantity)
            for r in page.products
        ],
        next_cursor=page.next_cursor,
    )
