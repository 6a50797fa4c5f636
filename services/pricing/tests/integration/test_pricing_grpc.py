"""The pricing gRPC server end to end on a real database (SQLite and PostgreSQL): derived and set
prices, the exact `pricing.price_changed` payload, history, bulk preview/apply (stale refused), FX
threshold, timed sales and schedules exactly once with two replicas, tenancy and roles."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from omnistock.common.v1 import common_pb2
from omnistock.pricing.v1 import pricing_service_pb2 as pb
from omnistock_common.db import make_engine
from pricing import models, service
from pricing.domain.model import BasePrice
from pricing.repository import UnitOfWork
from pricing.service import PricingDeps

TENANT = "tenant-a"
PAYLOAD_KEYS = {
    "tenant_id",
    "connection_id",
    "sku",
    "price",
    "compare_at_price",
    "version",
    "changed_at",
    "reason",
}


def money(minor: int, currency: str) -> common_pb2.Money:
    return common_pb2.Money(amount_minor=minor, currency=currency)


def events(deps: PricingDeps, tenant: str = TENANT) -> list[dict[str, Any]]:
    with deps.uow.transaction() as repo:
        return [payload for _id, kind, payload in repo.outbox_rows(tenant) if kind == "pricing.price_changed"]


def prices(client: Any, connection_id: str, sku: str = "") -> dict[str, pb.ChannelPrice]:
    reply = client.ListPrices(pb.ListPricesRequest(connection_id=connection_id, sku=sku))
    return {p.sku: p for p in reply.prices}


@pytest.fixture
def shop(client: Any, catalog: Any, listings: Any) -> Any:
    """Two USD base prices; `shop` (USD) lists both, `woo` (EUR, no rounding) lists TEE-1."""
    catalog.prices.update({"TEE-1": BasePrice(9900, "USD"), "TEE-2": BasePrice(2500, "USD")})
    listings.skus.update({"shop": ["TEE-1", "TEE-2"], "woo": ["TEE-1"]})
    client.SetConnectionPricing(
        pb.SetConnectionPricingRequest(pricing=pb.ConnectionPricing(connection_id="shop", currency="USD"))
    )
    client.SetConnectionPricing(
        pb.SetConnectionPricingRequest(
            pricing=pb.ConnectionPricing(connection_id="woo", currency="EUR", rounding=pb.ROUNDING_NONE)
        )
    )
    reply = client.SetFxRates(pb.SetFxRatesRequest(base="USD", rates={"EUR": "0.92", "GBP": "0.79"}))
    # Only woo's price appeared (EUR could not be derived before); shop's USD prices did not move.
    assert reply.repriced == 1
    return client


def test_the_migration_matches_the_models(pricing_url: str) -> None:
    engine = make_engine(pricing_url)
    try:
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), models.metadata) == []
    finally:
        engine.dispose()


def test_set_and_derived_prices_announce_the_agreed_payload(shop: Any, deps: PricingDeps) -> None:
    woo = prices(shop, "woo")["TEE-1"]
    assert (woo.price.amount_minor, woo.price.currency, woo.derived) == (9108, "EUR", True)
    [first] = events(deps)
    assert set(first) == PAYLOAD_KEYS and first["price"] == {"amount_minor": 9108, "currency": "EUR"}
    assert (
        first["version"] == 1 and first["compare_at_price"] is None and first["reason"] == "fx rates changed"
    )

    reply = shop.SetPrice(
        pb.SetPriceRequest(
            sku="TEE-1", connection_id="shop", price=money(8900, "USD"), compare_at_price=money(9900, "USD")
        )
    )
    assert reply.price.price.amount_minor == 8900 and not reply.price.derived
    shop.SetPrice(
        pb.SetPriceRequest(
            sku="TEE-1", connection_id="shop", price=money(8900, "USD"), compare_at_price=money(9900, "USD")
        )
    )  # the same again: nothing new
    latest = events(deps)[1:]
    assert latest == [
        {
            "tenant_id": TENANT,
            "connection_id": "shop",
            "sku": "TEE-1",
            "price": {"amount_minor": 8900, "currency": "USD"},
            "compare_at_price": {"amount_minor": 9900, "currency": "USD"},
            "version": 1,
            "changed_at": "2026-12-06T09:00:00Z",
            "reason": "set by hand",
        }
    ]
    [change, fx] = shop.GetPriceHistory(pb.GetPriceHistoryRequest(sku="TEE-1")).changes
    assert (change.connection_id, change.before.amount_minor, change.after.amount_minor) == (
        "shop",
        9900,
        8900,
    )
    assert change.actor == "user:u1" and fx.connection_id == "woo" and not fx.HasField("before")

    # Clearing derives it again (version 2 of the key).
    shop.SetPrice(pb.SetPriceRequest(sku="TEE-1", connection_id="shop"))
    assert events(deps)[-1]["version"] == 2 and events(deps)[-1]["price"]["amount_minor"] == 9900


def test_a_set_price_changes_without_the_catalog_a_derived_one_needs_it(shop: Any, catalog: Any) -> None:
    shop.SetPrice(pb.SetPriceRequest(sku="TEE-1", connection_id="shop", price=money(8900, "USD")))
    catalog.down = True
    reply = shop.SetPrice(pb.SetPriceRequest(sku="TEE-1", connection_id="shop", price=money(8800, "USD")))
    assert reply.price.price.amount_minor == 8800
    with pytest.raises(grpc.RpcError) as error:  # clearing derives it: the catalog is needed
        shop.SetPrice(pb.SetPriceRequest(sku="TEE-1", connection_id="shop"))
    assert error.value.code() is grpc.StatusCode.UNAVAILABLE


def test_bad_input_is_invalid_argument_and_changes_nothing(shop: Any, deps: PricingDeps) -> None:
    before = events(deps)
    for request in (
        pb.SetPriceRequest(sku="TEE-1", connection_id="woo", price=money(100, "USD")),  # woo prices in EUR
        pb.SetPriceRequest(sku="", connection_id="shop", price=money(100, "USD")),
        pb.SetPriceRequest(sku="TEE-1", connection_id="shop", price=money(-1, "USD")),
    ):
        with pytest.raises(grpc.RpcError) as error:
            shop.SetPrice(request)
        assert error.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as error:
        shop.SetFxRates(pb.SetFxRatesRequest(base="USD", rates={"EUR": "-1", "XXY": "2"}))
    assert error.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert shop.GetFxRates(pb.GetFxRatesRequest()).rates[0].rate == "0.92"
    assert events(deps) == before


def test_bulk_preview_equals_the_result_and_a_stale_preview_is_refused(shop: Any, deps: PricingDeps) -> None:
    shop.SetPrice(pb.SetPriceRequest(sku="TEE-1", connection_id="shop", price=money(8900, "USD")))
    preview = shop.PreviewBulkChange(
        pb.PreviewBulkChangeRequest(
            filter=pb.PriceFilter(connection_id="shop", sku_prefix="TEE"),
            change=pb.BulkChange(percent="10"),
            rounding=pb.ROUNDING_ENDING_99,
        )
    )
    shown = {i.sku: (i.before.amount_minor, i.after.amount_minor) for i in preview.items}
    assert preview.count == 2 and shown == {"TEE-1": (8900, 9799), "TEE-2": (2500, 2799)}
    assert shop.ApplyBulkChange(pb.ApplyBulkChangeRequest(preview_id=preview.preview_id)).count == 2
    after = prices(shop, "shop")
    assert {sku: p.price.amount_minor for sku, p in after.items()} == {s: a for s, (_, a) in shown.items()}
    assert all(not p.derived for p in after.values())
    assert shop.GetPriceHistory(pb.GetPriceHistoryRequest(sku="TEE-2")).changes[0].reason == "bulk change"

    with pytest.raises(grpc.RpcError) as error:  # applied already
        shop.ApplyBulkChange(pb.ApplyBulkChangeRequest(preview_id=preview.preview_id))
    assert error.value.code() is grpc.StatusCode.ABORTED

    stale = shop.PreviewBulkChange(
        pb.PreviewBulkChangeRequest(
            filter=pb.PriceFilter(connection_id="shop"), change=pb.BulkChange(amount=money(-100, "USD"))
        )
    )
    shop.SetPrice(pb.SetPriceRequest(sku="TEE-2", connection_id="shop", price=money(3000, "USD")))
    count = len(events(deps))
    with pytest.raises(grpc.RpcError) as error:
        shop.ApplyBulkChange(pb.ApplyBulkChangeRequest(preview_id=stale.preview_id))
    assert error.value.code() is grpc.StatusCode.ABORTED
    assert len(events(deps)) == count and prices(shop, "shop")["TEE-1"].price.amount_minor == 9799


def test_a_bulk_change_filtered_by_product_status(shop: Any, catalog: Any) -> None:
    catalog.statuses["TEE-2"] = "draft"
    preview = shop.PreviewBulkChange(
        pb.PreviewBulkChangeRequest(
            filter=pb.PriceFilter(connection_id="shop", product_status="draft"),
            change=pb.BulkChange(percent="-10"),
        )
    )
    assert [(i.sku, i.after.amount_minor) for i in preview.items] == [("TEE-2", 2250)]
    with pytest.raises(grpc.RpcError) as error:
        shop.PreviewBulkChange(
            pb.PreviewBulkChangeRequest(
                filter=pb.PriceFilter(connection_id="shop", tag="x"), change=pb.BulkChange(percent="5")
            )
        )
    assert error.value.code() is grpc.StatusCode.INVALID_ARGUMENT


def test_fx_changes_below_the_threshold_do_not_repush_and_never_add_up(shop: Any, deps: PricingDeps) -> None:
    assert (
        shop.SetFxRates(pb.SetFxRatesRequest(base="USD", rates={"EUR": "0.925"})).repriced == 0
    )  # 9108 -> 9158
    reply = shop.SetFxRates(pb.SetFxRatesRequest(base="USD", rates={"EUR": "0.93"}))  # 9207: +1.09% of 9108
    assert reply.repriced == 1 and events(deps)[-1]["price"]["amount_minor"] == 9207
    with deps.uow.transaction() as repo:
        audit = [(a["currency"], a["before"], a["after"]) for a in repo.fx_audit(TENANT)]
    assert ("EUR", "0.925", "0.93") in audit and ("GBP", "0.79", None) in audit
    # The tenant's own threshold: 5% holds back a 4.3% move (9207 -> 9605), a bad one changes nothing.
    with pytest.raises(grpc.RpcError) as error:
        shop.SetFxRates(pb.SetFxRatesRequest(base="USD", rates={"EUR": "0.97"}, threshold_percent="101"))
    assert error.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    reply = shop.SetFxRates(pb.SetFxRatesRequest(base="USD", rates={"EUR": "0.97"}, threshold_percent="5"))
    assert (reply.repriced, reply.threshold_percent) == (0, "5")
    assert shop.GetFxRates(pb.GetFxRatesRequest()).threshold_percent == "5"


def test_a_timed_sale_starts_and_ends_once_with_two_replicas(
    shop: Any, deps: PricingDeps, clock: Any, pricing_url: str
) -> None:
    start = clock.now.replace(hour=10)
    sale = shop.CreateTimedSale(
        pb.CreateTimedSaleRequest(
            sku="TEE-2",
            connection_id="shop",
            sale_price=money(1999, "USD"),
            starts_at=_ts(start),
            ends_at=_ts(start.replace(hour=11)),
            idempotency_key="sale-1",
        )
    ).sale
    again = shop.CreateTimedSale(
        pb.CreateTimedSaleRequest(
            sku="TEE-2",
            connection_id="shop",
            sale_price=money(1999, "USD"),
            starts_at=_ts(start),
            ends_at=_ts(start.replace(hour=11)),
            idempotency_key="sale-1",
        )
    ).sale
    assert again.id == sale.id and sale.state == pb.TIMED_SALE_STATE_SCHEDULED
    engine = make_engine(pricing_url)
    other = PricingDeps(UnitOfWork(engine), deps.catalog, deps.listings, deps.clock)
    try:
        assert _race(deps, other, service.run_due_sales) == 0  # not due yet
        clock.advance(hours=1)
        assert _race(deps, other, service.run_due_sales) == 1
        started = events(deps)[-1]
        assert started["price"] == {"amount_minor": 1999, "currency": "USD"}
        assert started["compare_at_price"] == {"amount_minor": 2500, "currency": "USD"}
        assert prices(shop, "shop", "TEE-2")["TEE-2"].price.amount_minor == 1999
        clock.advance(hours=1)
        assert _race(deps, other, service.run_due_sales) == 1
        ended = events(deps)[-1]
        assert ended["price"]["amount_minor"] == 2500 and ended["compare_at_price"] is None
        assert ended["version"] == started["version"] + 1
        assert _race(deps, other, service.run_due_sales) == 0
    finally:
        engine.dispose()
    [listed] = shop.ListTimedSales(pb.ListTimedSalesRequest(sku="TEE-2")).sales
    assert listed.state == pb.TIMED_SALE_STATE_ENDED


def test_the_price_schedule_repushes_once_at_its_local_time(
    shop: Any, deps: PricingDeps, clock: Any, pricing_url: str
) -> None:
    reply = shop.SetPriceSchedule(
        pb.SetPriceScheduleRequest(connection_id="shop", cron="30 2 * * *", timezone="Europe/Berlin")
    )
    assert (reply.pricing.schedule_cron, reply.pricing.currency) == ("30 2 * * *", "USD")
    with pytest.raises(grpc.RpcError) as error:
        shop.SetPriceSchedule(
            pb.SetPriceScheduleRequest(connection_id="shop", cron="61 * * * *", timezone="UTC")
        )
    assert error.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    engine = make_engine(pricing_url)
    other = PricingDeps(UnitOfWork(engine), deps.catalog, deps.listings, deps.clock)
    try:
        clock.advance(hours=16, minutes=29)  # 01:29 UTC = 02:29 in Berlin: only woo (00:00 UTC) is due
        assert _race(deps, other, service.run_due_schedules) == 1
        assert events(deps)[-1]["connection_id"] == "woo"
        clock.advance(minutes=1)
        count = len(events(deps))
        assert _race(deps, other, service.run_due_schedules) == 2
        pushed = events(deps)[count:]
        assert {(e["connection_id"], e["sku"], e["reason"]) for e in pushed} == {
            ("shop", "TEE-1", "scheduled price sync"),
            ("shop", "TEE-2", "scheduled price sync"),
        }
    finally:
        engine.dispose()


def test_tenants_are_apart_and_viewers_only_read(shop: Any, client_for: Callable[..., Any]) -> None:
    other = client_for("tenant-b")
    assert other.GetFxRates(pb.GetFxRatesRequest()).base == ""
    shop.SetPrice(pb.SetPriceRequest(sku="TEE-1", connection_id="shop", price=money(100, "USD")))
    theirs = prices(other, "shop")["TEE-1"]  # the fakes share one catalog; the set price is tenant-a's
    assert (theirs.price.amount_minor, theirs.derived) == (9900, True)
    assert other.GetPriceHistory(pb.GetPriceHistoryRequest(sku="TEE-1")).changes == []
    viewer = client_for(role="viewer")
    assert prices(viewer, "woo")["TEE-1"].price.amount_minor == 9108
    with pytest.raises(grpc.RpcError) as error:
        viewer.SetPrice(pb.SetPriceRequest(sku="TEE-1", connection_id="shop", price=money(1, "USD")))
    assert error.value.code() is grpc.StatusCode.PERMISSION_DENIED


def _ts(moment: Any) -> Any:
    from omnistock_common.timestamps import to_timestamp

    return to_timestamp(moment)


def _race(a: PricingDeps, b: PricingDeps, job: Callable[[PricingDeps], int]) -> int:
    """Run `job` on two replicas at once; the total of what they did."""
    results: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run(deps: PricingDeps) -> None:
        barrier.wait()
        try:
            results.append(job(deps))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(d,)) for d in (a, b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return sum(results)
