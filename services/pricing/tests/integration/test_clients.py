"""The outbound adapters (pricing.clients) against in-process catalog and channels gRPC servers:
the requests they send, paging to the end, the caller's identity, and errors in domain terms."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from omnistock.catalog.v1 import catalog_service_pb2 as cat
from omnistock.catalog.v1 import catalog_service_pb2_grpc as cat_grpc
from omnistock.channels.v1 import channels_service_pb2 as ch
from omnistock.channels.v1 import channels_service_pb2_grpc as ch_grpc
from omnistock.common.v1 import common_pb2
from omnistock_common.context import CallContext, call_context
from omnistock_common.errors import Unavailable
from omnistock_common.grpc_server import build_server
from pricing.clients import CatalogPrices, ChannelListings
from pricing.domain.model import BasePrice

CTX = CallContext("tenant-a", "u1", "staff")


class Catalog(cat_grpc.CatalogServiceServicer):
    tenants: list[str] = []

    def GetVariantsBySku(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.tenants.append(call_context(context).tenant_id)
        known = [s for s in request.skus if s != "GONE"]
        return cat.GetVariantsBySkuResponse(
            variants=[
                cat.Variant(sku=s, price=common_pb2.Money(amount_minor=100, currency="EUR")) for s in known
            ],
            missing_skus=[s for s in request.skus if s == "GONE"],
        )

    def ListProducts(self, request: Any, context: grpc.ServicerContext) -> Any:
        page = int(request.page.cursor or 0)
        product = cat.Product(status=request.status, variants=[cat.Variant(sku=f"P{page}")])
        return cat.ListProductsResponse(products=[product], page={"next_cursor": "1" if page == 0 else ""})


class Channels(ch_grpc.ChannelsServiceServicer):
    def ListListings(self, request: Any, context: grpc.ServicerContext) -> Any:
        if request.connection_id == "down":
            context.abort(grpc.StatusCode.UNAVAILABLE, "restarting")
        page = int(request.page.cursor or 0)
        return ch.ListListingsResponse(
            listings=[ch.Listing(sku=f"L{page}")], page={"next_cursor": str(page + 1) if page < 2 else ""}
        )


@pytest.fixture
def addresses() -> Iterator[tuple[str, str]]:
    servers = [
        build_server(
            [lambda server: cat_grpc.add_CatalogServiceServicer_to_server(Catalog(), server)],
            [cat.DESCRIPTOR.services_by_name["CatalogService"].full_name],
            "127.0.0.1:0",
            max_workers=2,
        ),
        build_server(
            [lambda server: ch_grpc.add_ChannelsServiceServicer_to_server(Channels(), server)],
            [ch.DESCRIPTOR.services_by_name["ChannelsService"].full_name],
            "127.0.0.1:0",
            max_workers=2,
        ),
    ]
    yield f"127.0.0.1:{servers[0].port}", f"127.0.0.1:{servers[1].port}"
    for running in servers:
        running.server.stop(None).wait()


def test_the_adapters_page_to_the_end_and_speak_domain_terms(addresses: tuple[str, str]) -> None:
    catalog = CatalogPrices(addresses[0], 5.0)
    listings = ChannelListings(addresses[1], 5.0)
    try:
        assert catalog.base_prices(CTX, ["A", "GONE"]) == {"A": BasePrice(100, "EUR")}
        assert Catalog.tenants[-1] == "tenant-a"
        assert catalog.skus_with_status(CTX, "draft") == {"P0", "P1"}
        assert listings.listed_skus(CTX, "shop") == ["L0", "L1", "L2"]
        with pytest.raises(Unavailable):
            listings.listed_skus(CTX, "down")
    finally:
        catalog.close()
        listings.close()
