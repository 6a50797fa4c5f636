"""connector.v1's UpsertProducts messages read into the kit's publishing values (values_proto):
prices and the "was" price in minor units, options in order, owned fields normalised."""

from __future__ import annotations

from omnistock.common.v1 import common_pb2
from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock_connector_kit.values import Amount
from omnistock_connector_kit.values_proto import product_upserts


def test_an_upsert_reads_prices_compare_at_options_and_owned_fields() -> None:
    message = pb.ProductUpsert(
        product_id="p-1",
        owned_fields=[" Title ", "prices", ""],
        product=pb.CatalogProduct(
            title="Tee",
            status="ACTIVE",
            variants=[
                pb.CatalogVariant(
                    sku="TEE-S",
                    options=[pb.OptionValue(name="Size", value="S")],
                    price=common_pb2.Money(amount_minor=1999, currency="EUR"),
                    compare_at_price=common_pb2.Money(amount_minor=2499, currency="EUR"),
                    weight_grams=180,
                ),
                pb.CatalogVariant(sku="TEE-M", price=common_pb2.Money(amount_minor=1999, currency="EUR")),
            ],
        ),
    )

    [upsert] = product_upserts([message])

    small, medium = upsert.variants
    assert (small.price, small.compare_at) == (Amount(1999, "EUR"), Amount(2499, "EUR"))
    assert (small.options, small.weight_grams) == ((("Size", "S"),), 180)
    assert (medium.compare_at, medium.weight_grams) == (None, None)  # unset stays unset
    assert upsert.status == "active" and upsert.owned_fields == frozenset({"title", "prices"})
    assert upsert.is_create and upsert.owns("description")  # a create writes everything
