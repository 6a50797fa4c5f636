"""The real worker and the orders events on a real RabbitMQ: `nameko run ... channels.worker` as a
child process takes a signed `orders.fulfillment_requested`, sends it to the Shopify sandbox through
the real connector, and its relay publishes `channels.order_action_synced` (and the
`channels.order_received` of the polled order), both signed; an unsigned `orders.cancel_requested`
published next to it is dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nameko.standalone.events import event_dispatcher

from channels.sync import in_flight
from omnistock_common.config import load_internal_auth_settings
from omnistock_common.service_auth import event_signature_valid, sign_event
from omnistock_devtools.worker_process import EventTap, event_tap, every, queues_exist

# The worker wiring does not depend on the database: covered once, on SQLite.
pytestmark = [
    pytest.mark.redis,
    pytest.mark.rabbitmq,
    pytest.mark.slow,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]
Stack = Any  # conftest.Stack
QUEUE = "evt-orders-fulfillment_requested--channels_sync.on_fulfillment_requested"
DEADLINE = 90.0
TENANT = "tenant-sync"


def state(stack: Stack) -> tuple[Any, Any]:
    """The stored request and the connection's sync log, for a failure message."""
    with stack.channels.parts.deps.uow.transaction() as repo:
        stored = repo.order_actions_of(TENANT, "ord-1")
    log = [(e.operation, e.outcome, e.message) for e in stack.sync_log(stack.shopify_id, 20)]
    return stored, log


@pytest.fixture
def channels_events(vhost_url: str) -> Iterator[EventTap]:
    """Every `channels.*` event (the exchange nameko's dispatcher uses), bound before the worker runs."""
    with event_tap(vhost_url, "channels.events", prefix="test-channels-events") as tap:
        yield tap


def test_the_worker_sends_a_signed_fulfilment_request_and_publishes_signed_outcomes(
    stack: Stack, vhost_url: str, channels_events: EventTap, tmp_path: Path
) -> None:
    stack.seed({"CUP": 5})
    placed = stack.shopify.post("/_sandbox/orders", {"lines": [{"sku": "CUP", "quantity": 1}]}).json()
    in_flight.poll_orders(
        stack.channels.parts.deps.caller, stack.channels.parts.deps.uow, TENANT, stack.shopify_id
    )
    env = stack.worker_env(
        vhost_url,
        # A failed attempt (a loaded machine) is retried in a second, not after the production 2 s, 4 s, ...
        CHANNELS_ORDER_ACTION_BACKOFF_SECONDS="0.2",
        CHANNELS_ORDER_ACTION_BACKOFF_CAP_SECONDS="1",
    )
    secret = load_internal_auth_settings(env).token_secret
    request = {
        "tenant_id": TENANT,
        "order_id": "ord-1",
        "fulfillment_id": "ful-1",
        "connection_id": stack.shopify_id,
        "external_order_id": str(placed["legacy_id"]),
        "carrier": "UPS",
        "tracking_number": "1Z-WORKER",
        "tracking_url": "",
        "lines": [],
    }
    unsigned_cancel = {**request, "order_id": "ord-2", "reason": "forged"}
    with stack.worker(env, tmp_path / "worker.log", DEADLINE) as worker:
        worker.wait_until(lambda: queues_exist(vhost_url, QUEUE))
        dispatch = event_dispatcher({"AMQP_URI": vhost_url})
        dropped = "dropped an unsigned or forged orders.cancel_requested"
        signed = sign_event(secret, "orders.fulfillment_requested", request)

        def publish() -> None:
            # Repeated until both land (a queue exists a moment before its binding does); a repeat
            # is the same stored request.
            dispatch("orders", "cancel_requested", unsigned_cancel)
            dispatch("orders", "fulfillment_requested", signed)

        publish_every_5_s = every(5, publish)

        def publish_and_collect() -> None:
            publish_every_5_s()
            channels_events.drain(0.1)

        worker.wait_until(
            lambda: channels_events.bodies("order_action_synced") and dropped in worker.log(),
            interval=0,
            between=publish_and_collect,
            describe=lambda: (sorted({key for key, _ in channels_events.received}), state(stack)),
        )
    received: dict[str, dict[str, Any]] = {}
    for key, body in channels_events.received:
        received.setdefault(key, body)
    outcome = received["order_action_synced"]
    assert event_signature_valid(secret, "channels.order_action_synced", outcome)
    assert (outcome["order_id"], outcome["fulfillment_id"], outcome["outcome"]) == (
        "ord-1",
        "ful-1",
        "synced",
    )
    assert event_signature_valid(secret, "channels.order_received", received["order_received"])
    assert received["order_received"]["order"]["external_id"] == str(placed["legacy_id"])
    view = stack.shopify.http.get(f"/_sandbox/orders/{placed['legacy_id']}").json()
    assert [f["tracking_number"] for f in view["fulfillments"]] == ["1Z-WORKER"]
    with stack.channels.parts.deps.uow.transaction() as repo:
        assert repo.order_actions_of(TENANT, "ord-2") == []
