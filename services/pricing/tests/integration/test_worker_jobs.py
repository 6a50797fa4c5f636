"""The worker's jobs without a broker: the relay publishes each `pricing.price_changed` signed,
with exactly the agreed keys (plus `_signature`), only the newest version of a price per batch,
and marks every row sent; a publish that fails leaves the rows for the next pass."""

from __future__ import annotations

from typing import Any

import pytest

from omnistock.common.v1 import common_pb2
from omnistock.pricing.v1 import pricing_service_pb2 as pb
from omnistock_common.outbox_relay import count_unsent
from omnistock_common.service_auth import event_signature_valid, sign_event
from pricing import models
from pricing.domain.model import BasePrice
from pricing.jobs import WorkerJobs
from pricing.service import PricingDeps

SECRET = "s" * 40
KEYS = {"tenant_id", "connection_id", "sku", "price", "compare_at_price", "version", "changed_at", "reason"}


def test_the_relay_signs_the_agreed_payload_and_sends_the_newest_version(
    client: Any, deps: PricingDeps, catalog: Any
) -> None:
    catalog.prices["TEE-1"] = BasePrice(9900, "USD")
    for minor in (8900, 8800):
        client.SetPrice(
            pb.SetPriceRequest(
                sku="TEE-1", connection_id="shop", price=common_pb2.Money(amount_minor=minor, currency="USD")
            )
        )
    jobs = WorkerJobs(deps.uow.engine, deps, SECRET)

    def broken(key: str, payload: dict[str, Any]) -> None:
        raise ConnectionError("broker away")

    with pytest.raises(ConnectionError):
        jobs.relay(broken)
    assert count_unsent(deps.uow.engine, models.outbox) == 2

    sent: list[tuple[str, dict[str, Any]]] = []
    assert jobs.relay(lambda key, payload: sent.append((key, payload))) == 2
    [(key, payload)] = sent
    assert key == "price_changed" and set(payload) == KEYS | {"_signature"}
    assert event_signature_valid(SECRET, "pricing.price_changed", payload)
    assert payload["version"] == 2 and payload["price"] == {"amount_minor": 8800, "currency": "USD"}
    assert count_unsent(deps.uow.engine, models.outbox) == 0


def test_a_signed_price_sync_request_announces_every_price_of_the_connection(
    deps: PricingDeps, catalog: Any, listings: Any
) -> None:
    catalog.prices.update({"A": BasePrice(100, "USD"), "B": BasePrice(200, "USD")})
    listings.skus["shop"] = ["A", "B", "UNKNOWN"]
    jobs = WorkerJobs(deps.uow.engine, deps, SECRET)
    request = {"tenant_id": "tenant-a", "connection_id": "shop", "job_id": "j1"}
    assert jobs.on_price_sync_requested(request) == 0  # unsigned: dropped
    assert (
        jobs.on_price_sync_requested(
            sign_event(SECRET, "channels.price_sync_requested", {**request, "connection_id": "\u202e"})
        )
        == 0
    )
    assert jobs.on_price_sync_requested(sign_event(SECRET, "channels.price_sync_requested", request)) == 2
    with deps.uow.transaction() as repo:
        announced = [(p["sku"], p["version"], p["reason"]) for _, _, p in repo.outbox_rows("tenant-a")]
        assert repo.history("tenant-a", "A", None, 10) == []  # nothing changed: no history
    assert announced == [("A", 1, "price sync requested"), ("B", 1, "price sync requested")]
