"""The real worker and the orders events on a real RabbitMQ: `nameko run ... channels.worker` as a
child process takes a signed `orders.fulfillment_requested`, sends it to the Shopify sandbox through
the real connector, and its relay publishes `channels.order_action_synced` (and the
`channels.order_received` of the polled order), both signed; an unsigned `orders.cancel_requested`
published next to it is dropped.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kombu
import pytest
from nameko.standalone.events import event_dispatcher

from channels.sync import in_flight
from omnistock_common.config import load_internal_auth_settings
from omnistock_common.service_auth import event_signature_valid, sign_event
from omnistock_devtools.worker_process import running_worker

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


def _queue_bound(url: str) -> bool:
    try:
        with kombu.Connection(url, connect_timeout=5) as conn:
            conn.default_channel.queue_declare(QUEUE, passive=True)
        return True
    except Exception:
        return False


def state(stack: Stack) -> tuple[Any, Any]:
    """The stored request and the connection's sync log, for a failure message."""
    with stack.channels.parts.deps.uow.transaction() as repo:
        stored = repo.order_actions_of(TENANT, "ord-1")
    log = [(e.operation, e.outcome, e.message) for e in stack.sync_log(stack.shopify_id, 20)]
    return stored, log


@pytest.fixture
def channels_events(vhost_url: str) -> Iterator[Any]:
    """A queue of ours bound to every `channels.*` event (the exchange nameko's dispatcher uses)."""
    exchange = kombu.Exchange("channels.events", type="topic", durable=True)
    queue = kombu.Queue(f"test-channels-events-{uuid.uuid4().hex[:8]}", exchange=exchange, routing_key="#")
    with kombu.Connection(vhost_url, connect_timeout=5) as conn:
        bound = queue(conn.channel())
        exchange(bound.channel).declare()
        bound.declare()
        try:
            yield bound
        finally:
            bound.delete()


def test_the_worker_sends_a_signed_fulfilment_request_and_publishes_signed_outcomes(
    stack: Stack, vhost_url: str, channels_events: Any, tmp_path: Path
) -> None:
    stack.seed({"CUP": 5})
    placed = stack.shopify.post("/_sandbox/orders", {"lines": [{"sku": "CUP", "quantity": 1}]}).json()
    in_flight.poll_orders(
        stack.channels.parts.deps.caller, stack.channels.parts.deps.uow, TENANT, stack.shopify_id
    )
    env = {
        **os.environ,
        **stack.env,
        "AMQP_URL": vhost_url,
        "EVENTLET_THREADPOOL_SIZE": "16",
        "INVENTORY_ADDR": "127.0.0.1:1",
        "LOG_LEVEL": "INFO",
        # A failed attempt (a loaded machine) is retried in a second, not after the production 2 s, 4 s, ...
        "CHANNELS_ORDER_ACTION_BACKOFF_SECONDS": "0.2",
        "CHANNELS_ORDER_ACTION_BACKOFF_CAP_SECONDS": "1",
    }
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
    received: dict[str, dict[str, Any]] = {}
    with running_worker(
        "services/channels/worker.yaml",
        "channels.worker",
        env=env,
        log_path=tmp_path / "worker.log",
        deadline=DEADLINE,
    ) as worker:
        worker.wait_until(lambda: _queue_bound(vhost_url))
        dispatch = event_dispatcher({"AMQP_URI": vhost_url})
        published_at = 0.0
        dropped = "dropped an unsigned or forged orders.cancel_requested"

        def publish_and_collect() -> None:
            nonlocal published_at
            if time.monotonic() - published_at > 5:
                # Repeated until both land (a queue exists a moment before its binding does);
                # a repeat is the same stored request.
                dispatch("orders", "cancel_requested", unsigned_cancel)
                dispatch(
                    "orders",
                    "fulfillment_requested",
                    sign_event(secret, "orders.fulfillment_requested", request),
                )
                published_at = time.monotonic()
            message = channels_events.get(no_ack=True)
            if message is None:
                time.sleep(0.1)
                return
            received.setdefault(message.delivery_info["routing_key"], message.payload)

        worker.wait_until(
            lambda: "order_action_synced" in received and dropped in worker.log(),
            interval=0,
            between=publish_and_collect,
            describe=lambda: (sorted(received), state(stack)),
        )
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
