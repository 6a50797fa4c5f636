"""`values` → connector.v1 messages, once for every connector (their mapping.py re-export what
they use): item outcomes, orders, and enums that mirror connector.v1's by member name."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Any

from omnistock.common.v1 import common_pb2
from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock_common.addresses import address_fields
from omnistock_connector_kit.catalog_import import CatalogProductData
from omnistock_connector_kit.connector_base import datetime_to_timestamp
from omnistock_connector_kit.publishing import ProductRef, ProductResult, ProductUpsert, VariantUpsert
from omnistock_connector_kit.values import (
    AddressData,
    Amount,
    InventoryInput,
    ItemResult,
    OrderData,
    Outcome,
    PriceInput,
    RemotePrice,
    RemoteProductData,
    RemoteQuantity,
)

__all__ = [
    "OUTCOMES",
    "address_to_proto",
    "by_name",
    "catalog_to_proto",
    "inventory_inputs",
    "item_results_to_proto",
    "money_to_proto",
    "order_to_proto",
    "orders_to_proto",
    "price_inputs",
    "product_refs",
    "product_results_to_proto",
    "product_upserts",
    "products_to_proto",
    "quantities_to_proto",
    "remote_prices_to_proto",
]


def by_name(members: type[Enum], proto_enum: Any, prefix: str) -> dict[Any, int]:
    """A connector's enum → the connector.v1 enum whose values are named `prefix` + member name
    (`WebhookKind.ORDER` → `WEBHOOK_KIND_ORDER`); a name connector.v1 lacks raises ValueError."""
    return {member: proto_enum.Value(f"{prefix}{member.name}") for member in members}


OUTCOMES = by_name(Outcome, pb.ItemOutcome, "ITEM_OUTCOME_")


def item_results_to_proto(results: Iterable[ItemResult]) -> list[pb.ItemResult]:
    return [pb.ItemResult(sku=r.sku, outcome=OUTCOMES[r.outcome], message=r.message) for r in results]


def money_to_proto(amount: Amount | None) -> common_pb2.Money | None:
    return common_pb2.Money(amount_minor=amount.amount_minor, currency=amount.currency) if amount else None


def remote_prices_to_proto(results: Iterable[RemotePrice]) -> list[pb.RemotePrice]:
    return [
        pb.RemotePrice(
            sku=r.sku,
            found=r.found,
            price=money_to_proto(r.price),
            compare_at_price=money_to_proto(r.compare_at),
        )
        for r in results
    ]


def address_to_proto(address: AddressData | None) -> pb.OrderAddress | None:
    if address is None:
        return None
    return pb.OrderAddress(**address_fields(address))


def order_to_proto(order: OrderData) -> pb.ChannelOrder:
    """The status maps by member name (`PAID` → `ORDER_STATUS_PAID`); a name connector.v1 lacks
    raises ValueError (mapping tests check every member)."""
    return pb.ChannelOrder(
        external_id=order.external_id,
        external_name=order.external_name,
        status=pb.OrderStatus.Value(f"ORDER_STATUS_{order.status.name}"),
        raw_status=order.raw_status,
        customer_email=order.customer_email,
        total=money_to_proto(order.total),
        lines=[
            pb.OrderLine(
                external_line_id=line.external_line_id,
                sku=line.sku,
                quantity=line.quantity,
                unit_price=money_to_proto(line.unit_price),
                title=line.title,
                discount=money_to_proto(line.discount),
                tax=money_to_proto(line.tax),
                quantity_fulfilled=line.quantity_fulfilled,
            )
            for line in order.lines
        ],
        created_at=datetime_to_timestamp(order.created_at),
        updated_at=datetime_to_timestamp(order.updated_at),
        customer_name=order.customer_name,
        shipping_address=address_to_proto(order.shipping_address),
        subtotal=money_to_proto(order.subtotal),
        discount_total=money_to_proto(order.discount_total),
        shipping_total=money_to_proto(order.shipping_total),
        tax_total=money_to_proto(order.tax_total),
        channel_status=dict(order.channel_status),
        raw_json=order.raw_json,
    )


# ------------------------------------------------------------------------------ publishing
def _amount_in(money: common_pb2.Money | None) -> Amount | None:
    """A Money without a currency is no amount (proto3 leaves an unset message empty)."""
    if money is None or not money.currency:
        return None
    return Amount(money.amount_minor, money.currency)


def product_upserts(items: Iterable[pb.ProductUpsert]) -> list[ProductUpsert]:
    """connector.v1 ProductUpserts as the kit's values (owned field names lower-cased)."""
    out = []
    for item in items:
        product = item.product
        out.append(
            ProductUpsert(
                product_id=item.product_id,
                external_id=product.external_id,
                title=product.title,
                description=product.description,
                status=product.status.strip().lower(),
                vendor=product.vendor,
                tags=tuple(product.tags),
                image_urls=tuple(product.image_urls),
                variants=tuple(
                    VariantUpsert(
                        sku=v.sku,
                        external_id=v.external_id,
                        barcode=v.barcode,
                        options=tuple((o.name, o.value) for o in v.options),
                        price=_amount_in(v.price) if v.HasField("price") else None,
                        compare_at=_amount_in(v.compare_at_price) if v.HasField("compare_at_price") else None,
                        weight_grams=v.weight_grams if v.HasField("weight_grams") else None,
                    )
                    for v in product.variants
                ),
                owned_fields=frozenset(f.strip().lower() for f in item.owned_fields if f.strip()),
            )
        )
    return out


def product_refs(items: Iterable[pb.ProductRef]) -> list[ProductRef]:
    return [ProductRef(i.product_id, i.external_id) for i in items]


def product_results_to_proto(results: Iterable[ProductResult]) -> list[pb.ProductResult]:
    return [
        pb.ProductResult(
            product_id=r.product_id,
            outcome=OUTCOMES[r.outcome],
            message=r.message,
            external_id=r.external_id,
            variants=[
                pb.PublishedVariant(
                    sku=v.sku, external_id=v.external_id, remote=pb.RemoteIds(ids=dict(v.ids))
                )
                for v in r.variants
            ],
        )
        for r in results
    ]


# ------------------------------------------------------------- the requests and answers every connector shares
def inventory_inputs(items: Iterable[pb.InventoryItem]) -> list[InventoryInput]:
    return [InventoryInput(i.sku, i.quantity, dict(i.remote.ids)) for i in items]


def price_inputs(items: Iterable[pb.PriceItem]) -> list[PriceInput]:
    """A compare-at price without a currency is no compare-at price (proto3 leaves it empty)."""
    return [
        PriceInput(
            sku=i.sku,
            price=Amount(i.price.amount_minor, i.price.currency),
            compare_at=Amount(i.compare_at_price.amount_minor, i.compare_at_price.currency)
            if i.HasField("compare_at_price") and i.compare_at_price.currency
            else None,
            ids=dict(i.remote.ids),
        )
        for i in items
    ]


def quantities_to_proto(results: Iterable[RemoteQuantity]) -> list[pb.RemoteQuantity]:
    return [pb.RemoteQuantity(sku=r.sku, quantity=r.quantity, found=r.found) for r in results]


def products_to_proto(
    products: Iterable[RemoteProductData], next_cursor: str
) -> pb.ListRemoteProductsResponse:
    return pb.ListRemoteProductsResponse(
        products=[
            pb.RemoteProduct(sku=r.sku, title=r.title, remote=pb.RemoteIds(ids=r.ids), quantity=r.quantity)
            for r in products
        ],
        next_cursor=next_cursor,
    )


def catalog_to_proto(
    products: Iterable[CatalogProductData], next_cursor: str
) -> pb.ListRemoteProductsResponse:
    """Whole products for the onboarding import (ListRemoteProducts with include_catalog); an unset
    price, compare-at price or weight stays unset, a variant without levels has no quantities."""
    return pb.ListRemoteProductsResponse(
        catalog=[
            pb.CatalogProduct(
                external_id=product.external_id,
                title=product.title,
                description=product.description,
                status=product.status,
                vendor=product.vendor,
                tags=product.tags,
                image_urls=product.image_urls,
                variants=[
                    pb.CatalogVariant(
                        external_id=v.external_id,
                        remote=pb.RemoteIds(ids=dict(v.ids)),
                        sku=v.sku,
                        title=v.title,
                        barcode=v.barcode,
                        options=[pb.OptionValue(name=n, value=x) for n, x in v.options],
                        price=money_to_proto(v.price),
                        compare_at_price=money_to_proto(v.compare_at),
                        weight_grams=v.weight_grams,
                        quantities=[
                            pb.LocationQuantity(
                                location_id=q.location_id,
                                location_name=q.location_name,
                                available=q.available,
                            )
                            for q in v.levels
                        ],
                    )
                    for v in product.variants
                ],
            )
            for product in products
        ],
        next_cursor=next_cursor,
    )


def orders_to_proto(
    orders: Iterable[OrderData], next_cursor: str, retried: Iterable[str] = ()
) -> pb.FetchOrdersResponse:
    return pb.FetchOrdersResponse(
        orders=[order_to_proto(o) for o in orders], next_cursor=next_cursor, retried=list(retried)
    )
