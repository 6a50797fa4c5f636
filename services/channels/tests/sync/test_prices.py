"""Prices through the sync engine (issue 16): `pricing.price_changed` intake, coalescing by version
and PushPrices through the REAL Shopify and WooCommerce connectors and sandboxes, on the test's
own Redis database (`own_redis_stack`: TEST_REDIS_URL's database, flushed before and after).

Covered: a price reaches both sandboxes (Shopify productVariantsBulkUpdate, WooCommerce
products/batch) and is remembered on the listing; an older or replayed version does nothing;
an unmapped SKU is reported once in the sync log and dropped; a failed push stays pending, shows
in health and lands once the channel answers; a prices sync job asks pricing for every price.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from channels import models, service
from channels.domain import SyncScope
from channels.price_domain import PRICE_SYNC_REQUESTED_EVENT, parse_price_changed
from channels.sync import reconcile, recovery, store

# Storage makes no difference to the price path (the stock tests run both): SQLite only, to stay cheap.
pytestmark = [pytest.mark.redis, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]
Stack = Any
TENANT = "tenant-sync"


def price_event(
    connection_id: str, sku: str, minor: int, currency: str, version: int, compare: int | None = None
) -> dict[str, Any]:
    """A pricing.price_changed payload as the pricing service publishes it (unsigned: the worker
    test covers signatures)."""
    return {
        "tenant_id": TENANT,
        "connection_id": connection_id,
        "sku": sku,
        "price": {"amount_minor": minor, "currency": currency},
        "compare_at_price": None if compare is None else {"amount_minor": compare, "currency": currency},
        "version": version,
        "changed_at": datetime(2026, 12, 6, 12, 0, tzinfo=UTC).isoformat(),
        "reason": "test",
    }


def record(stack: Stack, payload: dict[str, Any]) -> int:
    return store.record_price_change(
        stack.redis,
        stack.channels.parts.deps.uow,
        parse_price_changed(payload),
        settings=stack.engine.settings,
    )


def prices(sandbox: Any) -> dict[str, dict[str, Any]]:
    return dict(sandbox.http.get("/_sandbox/prices").json())


def test_a_price_reaches_both_sandboxes_and_older_or_replayed_versions_do_nothing(
    own_redis_stack: Stack,
) -> None:
    stack = own_redis_stack
    stack.seed({"CUP": 1, "MUG": 1})
    assert record(stack, price_event(stack.shopify_id, "CUP", 9900, "USD", 2, compare=12900)) == 1
    assert record(stack, price_event(stack.woo_id, "CUP", 8900, "EUR", 2)) == 1
    # Coalescing: an older version arriving late never replaces the newer pending one.
    assert record(stack, price_event(stack.woo_id, "CUP", 100, "EUR", 1)) == 0
    assert store.pending_prices(stack.redis, stack.woo_id) == {"CUP": ("8900:EUR::", 2)}

    stack.flush_until(
        lambda: (
            prices(stack.shopify)["CUP"]["price"] == "99.00" and prices(stack.woo)["CUP"]["price"] == "89.00"
        )
    )
    assert prices(stack.shopify)["CUP"]["compare_at_price"] == "129.00"
    assert prices(stack.shopify)["MUG"]["price"] == "10.00"  # untouched
    listing = stack.listing(stack.shopify_id, "CUP")
    with stack.channels.parts.deps.uow.transaction() as repo:
        states = repo.listing_push_states(TENANT, stack.woo_id, ["CUP"])
    assert (states["CUP"].last_pushed_price, states["CUP"].last_pushed_price_version) == ("8900:EUR::", 2)
    assert listing is not None
    assert ("push_prices", "ok") in [(e.operation, e.outcome) for e in stack.sync_log(stack.woo_id)]
    due = {m.decode().split("|")[0] for m in stack.redis.zrange(store.DUE_KEY, 0, -1)}
    assert not due & {stack.shopify_id, stack.woo_id}

    # Replays (a redelivered event, a relay that published twice) and older versions: nothing.
    stack.woo.reset_calls()
    assert record(stack, price_event(stack.woo_id, "CUP", 8900, "EUR", 2)) == 0
    assert record(stack, price_event(stack.woo_id, "CUP", 5, "EUR", 1)) == 0
    assert store.pending_prices(stack.redis, stack.woo_id) == {}
    # A newer version of the same price is recorded as pushed without a call to the channel.
    assert record(stack, price_event(stack.woo_id, "CUP", 8900, "EUR", 3)) == 1
    stack.flush_until(lambda: not store.pending_prices(stack.redis, stack.woo_id))
    assert prices(stack.woo)["CUP"]["price"] == "89.00"
    assert stack.woo.calls().get("products/batch", 0) == 0, stack.woo.calls()


def test_an_unmapped_sku_is_reported_once_and_dropped(own_redis_stack: Stack) -> None:
    stack = own_redis_stack
    stack.seed({"CUP": 1})
    assert record(stack, price_event(stack.woo_id, "NOT-LISTED", 500, "EUR", 1)) == 1
    assert record(stack, price_event(stack.woo_id, "CUP", 700, "EUR", 1)) == 1
    stack.flush_until(lambda: prices(stack.woo)["CUP"]["price"] == "7.00")
    assert store.pending_prices(stack.redis, stack.woo_id) == {}
    unmapped = [
        e for e in stack.sync_log(stack.woo_id) if e.operation == "push_prices" and e.outcome == "error"
    ]
    assert len(unmapped) == 1 and "unmapped sku" in unmapped[0].message
    assert list(unmapped[0].skus) == ["NOT-LISTED"]


def test_a_failed_price_push_stays_pending_and_lands_when_the_channel_answers(own_redis_stack: Stack) -> None:
    stack = own_redis_stack
    stack.seed({"CUP": 1})
    # More 500s than one PushPrices' own HTTP retries absorb (5 attempts): the first push fails.
    fault = {"status": 500, "count": 5, "retry_after": 0, "operation": "products/batch"}
    assert stack.woo.post("/_sandbox/faults", fault).status_code == 200
    assert record(stack, price_event(stack.woo_id, "CUP", 1234, "EUR", 1)) == 1
    stack.flush_until(lambda: stack.connection(stack.woo_id).health.error_count > 0)
    assert store.pending_prices(stack.redis, stack.woo_id) == {"CUP": ("1234:EUR::", 1)}
    health = stack.connection(stack.woo_id).health
    assert health.last_error
    stack.flush_until(lambda: prices(stack.woo)["CUP"]["price"] == "12.34")
    assert store.pending_prices(stack.redis, stack.woo_id) == {}
    assert stack.connection(stack.woo_id).health.error_count == 0
    outcomes = [(e.operation, e.outcome) for e in stack.sync_log(stack.woo_id)]
    assert ("push_prices", "ok") in outcomes and any(o != "ok" for op, o in outcomes if op == "push_prices")


def test_a_prices_sync_job_asks_pricing_for_every_price(own_redis_stack: Stack) -> None:
    stack = own_redis_stack
    deps = stack.channels.parts.deps
    job_id = service.request_sync(deps, stack.ctx, stack.woo_id, SyncScope.PRICES)
    with deps.uow.transaction() as repo:
        rows = repo.conn.execute(
            select(models.outbox.c.event_type, models.outbox.c.payload).where(
                models.outbox.c.event_type == PRICE_SYNC_REQUESTED_EVENT
            )
        ).all()
    assert [json.loads(r.payload) for r in rows] == [
        {"tenant_id": TENANT, "connection_id": stack.woo_id, "job_id": job_id}
    ]
    assert reconcile.run_sync_job(stack.engine, {"job_id": job_id}) == "done"
    with deps.uow.transaction() as repo:
        job = repo.get_sync_job_any_tenant(job_id)
    assert "pricing service was asked" in job.message


def test_reconciliation_reads_prices_back_and_overwrites_drift(own_redis_stack: Stack) -> None:
    stack = own_redis_stack
    stack.seed({"CUP": 1, "MUG": 1, "NEVER": 1})
    for sku, minor in (("CUP", 9900), ("MUG", 500)):
        assert record(stack, price_event(stack.shopify_id, sku, minor, "USD", 1, compare=minor + 1000)) == 1
        assert record(stack, price_event(stack.woo_id, sku, minor, "EUR", 1, compare=minor + 1000)) == 1
    stack.flush_until(
        lambda: (
            prices(stack.shopify)["MUG"]["price"] == "5.00" and prices(stack.woo)["MUG"]["price"] == "5.00"
        )
    )
    # A merchant edits prices in each channel's admin; NEVER was never priced by OmniStock.
    for sandbox in (stack.shopify, stack.woo):
        assert (
            sandbox.post(
                "/_sandbox/prices", {"sku": "CUP", "price": "79.00", "compare_at_price": None}
            ).status_code
            == 200
        )
        assert (
            sandbox.post(
                "/_sandbox/prices", {"sku": "NEVER", "price": "1.00", "compare_at_price": None}
            ).status_code
            == 200
        )

    for connection_id, sandbox, currency in (
        (stack.shopify_id, stack.shopify, "USD"),
        (stack.woo_id, stack.woo, "EUR"),
    ):
        report = reconcile.reconcile_prices(stack.engine, TENANT, connection_id)
        assert (report.checked, report.conflicts, report.corrected, report.never_priced) == (3, 1, 1, 1), (
            report
        )
        assert prices(sandbox)["CUP"] == {"price": "99.00", "compare_at_price": "109.00"}
        assert prices(sandbox)["NEVER"]["price"] == "1.00"
        conflicts = [e for e in stack.sync_log(connection_id) if e.operation == "reconcile_prices"]
        assert [(c.outcome, list(c.skus)) for c in conflicts] == [("conflict", ["CUP"])]
        assert (
            conflicts[0].message
            == f"channel had 7900 {currency}, OmniStock says 9900 {currency} (was 10900 {currency})"
        )
        # In step now: a second run finds nothing to fix.
        again = reconcile.reconcile_prices(stack.engine, TENANT, connection_id)
        assert (again.conflicts, again.not_on_channel) == (0, 0)


def test_a_redis_that_lost_its_data_asks_pricing_for_every_price_again(own_redis_stack: Stack) -> None:
    stack = own_redis_stack
    watch = recovery.EpochWatch()
    stack.redis.delete(recovery.EPOCH_KEY)
    assert watch.check(stack.engine)
    with stack.channels.parts.deps.uow.transaction() as repo:
        rows = repo.conn.execute(
            select(models.outbox.c.payload).where(models.outbox.c.event_type == PRICE_SYNC_REQUESTED_EVENT)
        ).all()
    asked = sorted(json.loads(r.payload)["connection_id"] for r in rows)
    assert asked == sorted([stack.shopify_id, stack.woo_id])
