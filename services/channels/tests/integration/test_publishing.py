"""Publishing (issue 15) through the real channels gRPC server and database (SQLite and
PostgreSQL), real Redis and a fake connector over gRPC: the publish job creates products with
their variants and channel prices, maps the SKUs and queues their stock; one refused product
stays on that product; catalog edits flow (coalesced by version, owned fields respected); a
deleted product is archived; a connection's products are per tenant."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from typing import Any

import grpc
import pytest

from channels import jobs, publishing
from channels.deps import ChannelsDeps
from channels.price_domain import ChannelPrice, Money
from channels.publish_domain import ProductView, VariantView
from channels.server import Channels
from channels.sync import store
from omnistock.channels.v1 import channels_service_pb2 as pb
from omnistock.connector.v1 import connector_service_pb2 as cpb
from omnistock_common import service_auth
from omnistock_common.context import CallContext
from omnistock_devtools.fake_connector import GOOD_KEY, GOOD_SECRET

SECRET = "test-event-secret"
TEE = str(uuid.UUID(int=1))
MUG = str(uuid.UUID(int=2))
BLANK = str(uuid.UUID(int=3))


class CatalogAndPricing:
    """The catalog and pricing a push reads, as plain values the test edits."""

    def __init__(self) -> None:
        self.views: dict[str, ProductView | None] = {
            TEE: ProductView(
                TEE,
                "Tee",
                "Soft cotton",
                "active",
                1,
                (
                    VariantView("TEE-S", "123", (("Size", "S"),), 180),
                    VariantView("TEE-M", "", (("Size", "M"),)),
                ),
                ("https://img.example.com/tee.jpg",),
            ),
            MUG: ProductView(MUG, "Mug", "", "active", 4, (VariantView("MUG-1"),)),
            BLANK: ProductView(BLANK, "  ", "", "active", 1, (VariantView("BLANK-1"),)),
        }
        self.prices = {
            "TEE-S": ChannelPrice(Money(1999, "EUR"), Money(2499, "EUR")),  # on sale: "was" 24.99
            "TEE-M": ChannelPrice(Money(2099, "EUR")),
        }

    def products(self, ctx: CallContext, product_ids: Sequence[str]) -> dict[str, ProductView | None]:
        return {pid: self.views.get(pid) for pid in product_ids}

    def products_of_skus(self, ctx: CallContext, skus: Sequence[str]) -> dict[str, str]:
        return {sku: pid for pid, view in self.views.items() if view for sku in view.skus if sku in skus}

    def channel_prices(
        self, ctx: CallContext, connection_id: str, skus: Sequence[str]
    ) -> dict[str, ChannelPrice]:
        return {sku: price for sku, price in self.prices.items() if sku in skus}

    def edit(self, product_id: str, **changes: Any) -> int:
        view = self.views[product_id]
        assert view is not None
        new = dataclasses.replace(view, version=view.version + 1, **changes)
        self.views[product_id] = new
        return new.version


@pytest.fixture
def sources() -> CatalogAndPricing:
    return CatalogAndPricing()


@pytest.fixture
def deps(server: Channels, sources: CatalogAndPricing) -> ChannelsDeps:
    return dataclasses.replace(server.parts.deps, publish=sources)


def _connect_woo(client: Any) -> str:
    request = pb.CreateConnectionRequest(
        type="woocommerce",
        name="Woo",
        settings={"api_base_url": "http://127.0.0.1:8702"},
        credentials={"consumer_key": GOOD_KEY, "consumer_secret": GOOD_SECRET},
    )
    return str(client.CreateConnection(request).connection.id)


def _publish(client: Any, deps: ChannelsDeps, connection_id: str, **what: list[str]) -> pb.Job:
    job_id = client.PublishListings(pb.PublishListingsRequest(connection_id=connection_id, **what)).job_id
    assert jobs.run_job(deps, job_id) == "done"
    return client.GetJob(pb.GetJobRequest(job_id=job_id)).job


def _states(client: Any, connection_id: str) -> dict[str, pb.ProductListing]:
    reply = client.ListProductListings(pb.ListProductListingsRequest(connection_id=connection_id))
    return {item.product_id: item for item in reply.listings}


def _changed(deps: ChannelsDeps, product_id: str, version: int, change: str = "updated") -> int:
    payload = {"tenant_id": "tenant-a", "product_id": product_id, "version": version, "change": change}
    signed = service_auth.sign_event(SECRET, publishing.PRODUCT_CHANGED_EVENT, payload)
    return publishing.product_changed(deps, signed, SECRET)


def _channel_product(fake: Any, external_id: str) -> cpb.CatalogProduct:
    return fake.published[external_id]


def test_a_publish_creates_products_maps_skus_queues_stock_and_keeps_a_refusal_on_its_product(
    client: Any, deps: ChannelsDeps, fakes: Any
) -> None:
    connection_id = _connect_woo(client)
    job = _publish(client, deps, connection_id, skus=["TEE-M", "NOT-IN-CATALOG"], product_ids=[MUG, BLANK])

    assert job.kind == "publish" and job.status == pb.JOB_STATUS_SUCCEEDED
    assert job.publish.published == 2 and list(job.publish.not_found) == ["NOT-IN-CATALOG"]
    assert [(r.product_id, r.error) for r in job.publish.rejected] == [(BLANK, "Title can't be blank")]
    states = _states(client, connection_id)
    assert {pid: s.state for pid, s in states.items()} == {TEE: "published", MUG: "published", BLANK: "error"}
    assert states[BLANK].last_error == "Title can't be blank" and not states[BLANK].external_id
    tee = _channel_product(fakes.woocommerce, states[TEE].external_id)
    assert (tee.title, tee.description, list(tee.image_urls)) == (
        "Tee",
        "Soft cotton",
        ["https://img.example.com/tee.jpg"],
    )
    by_sku = {v.sku: v for v in tee.variants}
    assert by_sku["TEE-S"].price.amount_minor == 1999 and by_sku["TEE-M"].price.currency == "EUR"
    # The "was" price goes with the create (the connector shows it struck through).
    sent = {v.sku: v for u in fakes.woocommerce.upserts if u.product_id == TEE for v in u.product.variants}
    assert sent["TEE-S"].compare_at_price.amount_minor == 2499
    assert not sent["TEE-M"].HasField("compare_at_price")
    assert [(o.name, o.value) for o in by_sku["TEE-S"].options] == [("Size", "S")]
    listings = {
        i.sku: dict(i.external_ids)
        for i in client.ListListings(pb.ListListingsRequest(connection_id=connection_id)).listings
    }
    assert set(listings) == {"TEE-S", "TEE-M", "MUG-1"}
    assert listings["TEE-S"] == dict(by_sku["TEE-S"].remote.ids)
    # Their stock goes out next, at inventory's figure (queued UNKNOWN for the flusher).
    assert set(store.pending_entries(deps.redis, connection_id)) == {"TEE-S", "TEE-M", "MUG-1"}  # type: ignore[arg-type]
    log = client.ListSyncLog(pb.ListSyncLogRequest(connection_id=connection_id, limit=10)).entries
    publish_rows = [e for e in log if e.operation == publishing.PUBLISH_OPERATION]
    assert publish_rows and "Title can't be blank" in publish_rows[0].message

    # The same publish again creates nothing new: the products show their versions already.
    again = _publish(client, deps, connection_id, product_ids=[TEE, MUG])
    assert again.publish.published == 2 and len(fakes.woocommerce.published) == 2


def test_catalog_edits_flow_coalesced_with_owned_fields_and_a_deleted_product_is_archived(
    client: Any, deps: ChannelsDeps, fakes: Any, sources: CatalogAndPricing
) -> None:
    connection_id = _connect_woo(client)
    _publish(client, deps, connection_id, product_ids=[TEE])
    external = _states(client, connection_id)[TEE].external_id
    upserts_before = len(fakes.woocommerce.upserts)

    # Three quick edits, announced out of order: one push of the newest version.
    for _ in range(3):
        sources.edit(TEE, title=f"Tee v{sources.views[TEE].version + 1}")  # type: ignore[union-attr]
    newest = sources.views[TEE].version  # type: ignore[union-attr]
    assert _changed(deps, TEE, newest) == 1
    assert _changed(deps, TEE, newest - 1) == 0  # older than what was announced: nothing
    assert publishing.push_due(deps) == 1
    assert len(fakes.woocommerce.upserts) == upserts_before + 1
    assert _channel_product(fakes.woocommerce, external).title == f"Tee v{newest}"
    assert _states(client, connection_id)[TEE].published_version == newest
    assert publishing.push_due(deps) == 0  # nothing pending any more

    # The merchant keeps a channel-specific title: only the description is OmniStock's now.
    owned = client.SetOwnedFields(
        pb.SetOwnedFieldsRequest(connection_id=connection_id, owned_fields=["description"])
    )
    assert list(owned.owned_fields) == ["description"]
    version = sources.edit(TEE, title="Renamed in OmniStock", description="Organic cotton")
    _changed(deps, TEE, version)
    publishing.push_due(deps)
    on_channel = _channel_product(fakes.woocommerce, external)
    assert (on_channel.title, on_channel.description) == (f"Tee v{newest}", "Organic cotton")
    assert list(fakes.woocommerce.upserts[-1].owned_fields) == ["description"]

    # A new variant reaches the channel and its SKU is mapped and queued.
    views = sources.views[TEE]
    assert views is not None
    client.SetOwnedFields(
        pb.SetOwnedFieldsRequest(connection_id=connection_id, owned_fields=["variants", "prices"])
    )
    version = sources.edit(TEE, variants=(*views.variants, VariantView("TEE-L", "", (("Size", "L"),))))
    _changed(deps, TEE, version)
    publishing.push_due(deps)
    assert {v.sku for v in _channel_product(fakes.woocommerce, external).variants} == {
        "TEE-S",
        "TEE-M",
        "TEE-L",
    }
    assert "TEE-L" in store.pending_entries(deps.redis, connection_id)  # type: ignore[arg-type]

    # An unsigned event changes nothing; a deleted product is archived on the channel.
    assert (
        publishing.product_changed(deps, {"tenant_id": "tenant-a", "product_id": TEE, "version": 99}, SECRET)
        == 0
    )
    sources.views[TEE] = None
    _changed(deps, TEE, version + 1, change="deleted")
    publishing.push_due(deps)
    assert fakes.woocommerce.archived == [external]
    assert _states(client, connection_id)[TEE].state == "archived"


def _off_sale(deps: ChannelsDeps, connection_id: str) -> dict[str, bool]:
    with deps.uow.transaction() as repo:
        return {x.sku: x.off_sale for x in repo.list_listings("tenant-a", connection_id, None, 100)}


def test_an_archived_product_is_off_sale_on_the_channel_until_it_is_active_again(
    client: Any, deps: ChannelsDeps, fakes: Any, sources: CatalogAndPricing
) -> None:
    """Archived in the catalog: its listings on the connection are off sale (the sync engine
    shows 0 there) and their stock is queued to go out; active again: back on sale, queued again;
    deleted from the catalog: archived on the channel and off sale."""
    connection_id = _connect_woo(client)
    _publish(client, deps, connection_id, product_ids=[TEE, MUG])
    assert _off_sale(deps, connection_id) == {"TEE-S": False, "TEE-M": False, "MUG-1": False}
    deps.redis.delete(store.PENDING_PREFIX + connection_id)  # type: ignore[union-attr]

    _changed(deps, TEE, sources.edit(TEE, status="archived"))
    publishing.push_due(deps)
    assert _off_sale(deps, connection_id) == {"TEE-S": True, "TEE-M": True, "MUG-1": False}
    assert set(store.pending_entries(deps.redis, connection_id)) == {"TEE-S", "TEE-M"}  # type: ignore[arg-type]

    deps.redis.delete(store.PENDING_PREFIX + connection_id)  # type: ignore[union-attr]
    _changed(deps, TEE, sources.edit(TEE, title="Tee, still archived"))
    publishing.push_due(deps)
    assert not store.pending_entries(deps.redis, connection_id)  # type: ignore[arg-type]  # no flip

    _changed(deps, TEE, sources.edit(TEE, status="active"))
    publishing.push_due(deps)
    assert _off_sale(deps, connection_id) == {"TEE-S": False, "TEE-M": False, "MUG-1": False}
    assert set(store.pending_entries(deps.redis, connection_id)) == {"TEE-S", "TEE-M"}  # type: ignore[arg-type]

    # Where the merchant keeps the channel's own status (status not owned), archiving in
    # OmniStock leaves the listings on sale.
    client.SetOwnedFields(pb.SetOwnedFieldsRequest(connection_id=connection_id, owned_fields=["title"]))
    _changed(deps, TEE, sources.edit(TEE, status="archived"))
    publishing.push_due(deps)
    assert _off_sale(deps, connection_id)["TEE-S"] is False

    sources.views[MUG] = None
    _changed(deps, MUG, 99, change="deleted")
    publishing.push_due(deps)
    assert _off_sale(deps, connection_id)["MUG-1"] is True


def test_publishing_is_per_tenant_and_checks_its_input(
    client: Any, client_for: Any, deps: ChannelsDeps
) -> None:
    connection_id = _connect_woo(client)
    _publish(client, deps, connection_id, product_ids=[MUG])
    other = client_for("tenant-b")
    with pytest.raises(grpc.RpcError) as foreign:
        other.PublishListings(pb.PublishListingsRequest(connection_id=connection_id, product_ids=[MUG]))
    assert foreign.value.code() == grpc.StatusCode.NOT_FOUND
    assert not other.ListProductListings(pb.ListProductListingsRequest(product_id=MUG)).listings
    assert [
        i.product_id
        for i in client.ListProductListings(pb.ListProductListingsRequest(product_id=MUG)).listings
    ] == [MUG]
    with pytest.raises(grpc.RpcError) as bad:
        client.PublishListings(pb.PublishListingsRequest(connection_id=connection_id, product_ids=["nope"]))
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as unknown_field:
        client.SetOwnedFields(pb.SetOwnedFieldsRequest(connection_id=connection_id, owned_fields=["colour"]))
    assert unknown_field.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert len(client.GetOwnedFields(pb.GetOwnedFieldsRequest(connection_id=connection_id)).owned_fields) == 7
