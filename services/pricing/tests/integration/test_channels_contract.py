"""The contract with the consumer: what the pricing worker relays for a real price change is
accepted by the channels worker's intake (channels.sync.store.accept_price_changed) as the same
price, and the channels' `price_sync_requested` as signed by its relay is accepted here."""

from __future__ import annotations

from typing import Any

from channels.sync.store import accept_price_changed
from omnistock.common.v1 import common_pb2
from omnistock.pricing.v1 import pricing_service_pb2 as pb
from omnistock_common.service_auth import sign_event
from pricing.domain.model import BasePrice
from pricing.jobs import PRICE_SYNC_REQUESTED, WorkerJobs
from pricing.service import PricingDeps

SECRET = "c" * 40


def test_the_channels_intake_accepts_what_the_relay_publishes(
    client: Any, deps: PricingDeps, catalog: Any
) -> None:
    catalog.prices["TEE-1"] = BasePrice(9900, "USD")
    client.SetPrice(
        pb.SetPriceRequest(
            sku="TEE-1",
            connection_id="0b6f1e9c-3a51-4a5c-9f0e-2d8c7a1b4e55",
            price=common_pb2.Money(amount_minor=8900, currency="USD"),
            compare_at_price=common_pb2.Money(amount_minor=9900, currency="USD"),
        )
    )
    sent: list[dict[str, Any]] = []
    WorkerJobs(deps.uow.engine, deps, SECRET).relay(lambda key, payload: sent.append(payload))
    [payload] = sent
    change = accept_price_changed(payload, SECRET)
    assert change is not None and (change.sku, change.version) == ("TEE-1", 1)
    assert (change.price.price.amount_minor, change.price.compare_at.amount_minor) == (8900, 9900)  # type: ignore[union-attr]
    assert accept_price_changed({**payload, "version": 2}, SECRET) is None  # tampered: the signature fails


def test_a_price_sync_request_signed_like_the_channels_relay_is_accepted(
    deps: PricingDeps, listings: Any, catalog: Any
) -> None:
    catalog.prices["X"] = BasePrice(100, "USD")
    listings.skus["shop"] = ["X"]
    # The payload channels.sync.recovery.request_price_resync writes, signed as its relay signs it.
    request = sign_event(
        SECRET, PRICE_SYNC_REQUESTED, {"tenant_id": "tenant-a", "connection_id": "shop", "job_id": ""}
    )
    assert WorkerJobs(deps.uow.engine, deps, SECRET).on_price_sync_requested(request) == 1
