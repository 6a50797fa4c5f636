"""Orders from the channels: a signed webhook and a poll each put one `channels.order_received` in
the outbox with the full order, written with the commitments; the relay signs every event;
`orders.order_imported` settles the commitments; polls follow each connection's interval and run
at once on RequestSync(scope orders).

Real Shopify and WooCommerce sandboxes and connectors, the real channels server, Redis, and the
database of `database_url` (SQLite and PostgreSQL).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from channels import connection_setup, events, models, service
from channels.domain import SyncScope
from channels.sync import in_flight, reconcile, settlement, store
from omnistock_common import service_auth
from omnistock_common.errors import InvalidArgument
from omnistock_common.outbox_relay import count_unsent
from woocommerce_connector.client import OAuth1Signing

pytestmark = pytest.mark.redis
# The `stack` fixture (conftest.py) is a conftest.Stack; test modules cannot import conftest here.
Stack = Any
SECRET = "order-intake-tests-secret-0123456789abcdef"
TENANT = "tenant-sync"


def outbox(stack: Stack, event_type: str = "channels.order_received") -> list[dict[str, Any]]:
    t = models.outbox
    with stack.channels.parts.deps.uow.transaction() as repo:
        rows = repo.conn.execute(select(t.c.payload).where(t.c.event_type == event_type).order_by(t.c.id))
        return [json.loads(r.payload) for r in rows]


def commitments(stack: Stack) -> list[tuple[str, int, str]]:
    t = models.channel_commitments
    with stack.channels.parts.deps.uow.transaction() as repo:
        rows = repo.conn.execute(select(t.c.sku, t.c.quantity, t.c.status).order_by(t.c.sku))
        return [(r.sku, int(r.quantity), r.status) for r in rows]


def poll(stack: Stack, connection_id: str) -> list[str]:
    return in_flight.poll_orders(
        stack.channels.parts.deps.caller,
        stack.channels.parts.deps.uow,
        TENANT,
        connection_id,
        settings=stack.engine.settings.polls,
    )


def test_a_signed_order_webhook_is_one_order_received_event_with_the_full_order(
    stack: Stack, webhook_url: str
) -> None:
    stack.seed({"CUP": 5})
    # Shopify sends orders/create and orders/paid for one checkout: the same state, one event.
    for topic in ("orders/create", "orders/paid"):
        address = f"{webhook_url}/shopify/{stack.shopify_id}"
        assert (
            stack.shopify.post("/_sandbox/webhooks", {"topic": topic, "address": address}).status_code == 201
        )
    placed = stack.shopify.post(
        "/_sandbox/orders",
        {
            "lines": [{"sku": "CUP", "quantity": 2, "price": "10.00", "discount": "1.00", "tax": "1.90"}],
            "email": "ann@example.com",
            "customer": {"first_name": "Ann", "last_name": "Buyer"},
            "shipping": "4.00",
        },
    ).json()
    assert [d["delivered"] for d in placed["deliveries"]] == [True, True]

    (event,) = outbox(stack)
    assert set(event) == {"tenant_id", "connection_id", "channel_type", "via", "received_at", "order"}
    assert (event["tenant_id"], event["connection_id"], event["channel_type"], event["via"]) == (
        TENANT,
        stack.shopify_id,
        "shopify",
        "webhook",
    )
    order = event["order"]
    assert (order["external_id"], order["external_name"], order["status"]) == (
        str(placed["legacy_id"]),
        placed["name"],
        "ORDER_STATUS_PAID",
    )
    assert (order["customer_email"], order["customer_name"]) == ("ann@example.com", "Ann Buyer")
    assert order["total"] == {"amount_minor": "2490", "currency": "USD"}
    assert (
        order["discount_total"]["amount_minor"] == "100" and order["shipping_total"]["amount_minor"] == "400"
    )
    (line,) = order["lines"]
    assert (line["sku"], line["quantity"], line["discount"]["amount_minor"], line["tax"]["amount_minor"]) == (
        "CUP",
        "2",
        "100",
        "190",
    )
    assert order["channel_status"]["financial_status"] == "paid"
    assert json.loads(order["raw_json"])["id"] == placed["legacy_id"]  # the body exactly as Shopify sent it
    # Written in the transaction that stored the commitment.
    assert commitments(stack) == [("CUP", 2, "pending")]


def test_a_poll_publishes_each_order_state_once(stack: Stack) -> None:
    stack.seed({"MUG": 5})
    placed = stack.woo.post(
        "/_sandbox/orders",
        {"lines": [{"sku": "MUG", "quantity": 1}], "billing": {"first_name": "Bo"}, "shipping_total": "5.00"},
    ).json()
    poll(stack, stack.woo_id)
    (event,) = outbox(stack)
    assert (event["via"], event["channel_type"], event["connection_id"]) == (
        "poll",
        "woocommerce",
        stack.woo_id,
    )
    assert (event["order"]["external_id"], event["order"]["status"]) == (
        str(placed["id"]),
        "ORDER_STATUS_PAID",
    )
    assert event["order"]["channel_status"] == {"status": "processing"}
    assert commitments(stack) == [("MUG", 1, "pending")]

    poll(stack, stack.woo_id)  # the overlap window reads it again: nothing new
    assert len(outbox(stack)) == 1
    config = stack.woo.http.get("/_sandbox/config").json()
    # Plain http: the sandbox, like WooCommerce, takes only OAuth 1.0a-signed requests there.
    auth = OAuth1Signing(config["consumer_key"], config["consumer_secret"])
    changed = stack.woo.http.put(
        f"/wp-json/wc/v3/orders/{placed['id']}", json={"status": "completed"}, auth=auth
    )
    assert changed.status_code == 200, changed.text
    poll(stack, stack.woo_id)
    assert [e["order"]["status"] for e in outbox(stack)] == ["ORDER_STATUS_PAID", "ORDER_STATUS_SHIPPED"]


def test_the_relay_signs_every_event_it_publishes(stack: Stack) -> None:
    stack.seed({"MUG": 5})
    stack.woo.post("/_sandbox/orders", {"lines": [{"sku": "MUG", "quantity": 1}]})
    poll(stack, stack.woo_id)
    service.request_sync(stack.channels.parts.deps, stack.ctx, stack.woo_id, SyncScope.INVENTORY)
    published: list[tuple[str, dict[str, Any]]] = []
    sent = events.relay_outbox(
        stack.channels.parts.engine, lambda name, payload: published.append((name, payload)), SECRET
    )
    assert sent == len(published) >= 2
    assert {name for name, _ in published} >= {"order_received", "sync_requested"}
    for name, payload in published:
        assert service_auth.event_signature_valid(SECRET, f"channels.{name}", payload), name
        assert not service_auth.event_signature_valid("another-secret-" * 3, f"channels.{name}", payload)
    assert count_unsent(stack.channels.parts.engine, models.outbox) == 0


def test_order_imported_settles_the_commitments_and_repushes_the_skus(stack: Stack) -> None:
    stack.seed({"CUP": 5})
    placed = stack.shopify.post("/_sandbox/orders", {"lines": [{"sku": "CUP", "quantity": 2}]}).json()
    poll(stack, stack.shopify_id)
    assert commitments(stack) == [("CUP", 2, "pending")]
    event = {
        "tenant_id": TENANT,
        "order_id": "ord-1",
        "source": "SHOPIFY",
        "connection_id": stack.shopify_id,
        "external_id": str(placed["legacy_id"]),
        "status": "PAID",
        "lines": [{"sku": "CUP", "quantity": 2}],
    }
    assert settlement.settle_imported(stack.engine, event, SECRET) == 0  # unsigned: dropped
    forged = service_auth.sign_event("someone-else-" * 4, "orders.order_imported", event)
    assert settlement.settle_imported(stack.engine, forged, SECRET) == 0
    assert commitments(stack) == [("CUP", 2, "pending")]

    signed = service_auth.sign_event(SECRET, "orders.order_imported", event)
    assert settlement.settle_imported(stack.engine, signed, SECRET) == 1
    assert commitments(stack) == [("CUP", 2, "imported")]
    # Both connections push CUP again, at the figure inventory gives at flush time (UNKNOWN here).
    for connection_id in (stack.shopify_id, stack.woo_id):
        assert store.pending_snapshot(stack.redis, connection_id)["CUP"] == (store.UNKNOWN, store.UNKNOWN)
    assert settlement.settle_imported(stack.engine, signed, SECRET) == 0  # a repeat settles nothing


def test_each_connection_is_polled_at_its_own_interval(stack: Stack) -> None:
    config = stack.woo.http.get("/_sandbox/config").json()
    credentials = {"consumer_key": config["consumer_key"], "consumer_secret": config["consumer_secret"]}
    # Another store (the same one would be re-authorised in place), reached through the sandbox.
    sandbox = urlsplit(config["api_base"])
    second_store = {
        "store_url": "https://second-store.example",
        "api_base_url": f"{sandbox.scheme}://{sandbox.netloc}",
    }
    with pytest.raises(InvalidArgument):
        connection_setup.create_connection(
            stack.channels.parts.deps,
            stack.ctx,
            "woocommerce",
            "Too often",
            {**second_store, "order_poll_interval_seconds": "5"},
            credentials,
        )
    frequent = connection_setup.create_connection(
        stack.channels.parts.deps,
        stack.ctx,
        "woocommerce",
        "Woo, polled every 2 minutes",
        {**second_store, "order_poll_interval_seconds": "120"},
        credentials,
    ).id
    engine = stack.engine
    first = engine.clock()
    assert reconcile.poll_all_orders(engine, now=first) == 3  # never polled: all of them
    assert reconcile.poll_all_orders(engine, now=first + timedelta(seconds=90)) == 0
    assert reconcile.poll_all_orders(engine, now=first + timedelta(seconds=150)) == 1  # the 2-minute one
    with stack.channels.parts.deps.uow.transaction() as repo:
        states = repo.poll_states(TENANT)
    assert states[frequent].last_attempt_at > states[stack.woo_id].last_attempt_at


def test_request_sync_of_orders_polls_the_connection_now(stack: Stack) -> None:
    stack.seed({"MUG": 5})
    placed = stack.woo.post("/_sandbox/orders", {"lines": [{"sku": "MUG", "quantity": 1}]}).json()
    job_id = service.request_sync(stack.channels.parts.deps, stack.ctx, stack.woo_id, SyncScope.ORDERS)
    assert reconcile.run_sync_job(stack.engine, {"job_id": job_id}) == "done"
    (event,) = outbox(stack)
    assert (event["via"], event["order"]["external_id"]) == ("poll", str(placed["id"]))
    assert "fetch_orders" in [e.operation for e in stack.sync_log(stack.woo_id)]
