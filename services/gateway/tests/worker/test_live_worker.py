"""The real live-updates relay: `nameko run --config services/gateway/live_worker.yaml
gateway.live_worker` as a child process on a RabbitMQ virtual host of its own turns a signed
`inventory.stock_changed` and `channels.connection_health_changed` into notices on the tenant's
Redis pub/sub channel, and drops an unsigned event (nothing of it reaches Redis)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from nameko.standalone.events import event_dispatcher

from gateway.live_notices import channel
from omnistock_common.config import load_internal_auth_settings
from omnistock_common.service_auth import sign_event
from omnistock_devtools.fullstack import isolated_vhost
from omnistock_devtools.worker_process import every, queues_exist, running_worker

pytestmark = [pytest.mark.slow]

TENANT = "live-relay-tenant"
QUEUES = (
    "evt-inventory-stock_changed--gateway_live.on_stock_changed",
    "evt-channels-connection_health_changed--gateway_live.on_connection_health_changed",
)
DEADLINE = 90.0


@pytest.fixture
def vhost_url(amqp_url: str) -> Iterator[str]:
    with isolated_vhost(amqp_url, prefix="test-live-relay") as (url, _isolated):
        yield url


def test_signed_events_on_rabbitmq_end_up_on_the_tenants_redis_channel(
    vhost_url: str, redis_url: str, tmp_path: Path
) -> None:
    env = {**os.environ, "AMQP_URL": vhost_url, "REDIS_URL": redis_url, "LOG_LEVEL": "INFO"}
    secret = load_internal_auth_settings(env).token_secret
    stock = {"tenant_id": TENANT, "event_id": "e1", "skus": [{"sku": "MUG", "available": 4, "version": 3}]}
    forged = {
        "tenant_id": TENANT,
        "event_id": "e0",
        "skus": [{"sku": "FORGED", "available": 0, "version": 9}],
    }
    health = {"tenant_id": TENANT, "connection_id": "c1", "status": "error", "previous_status": "degraded"}
    client = redis.Redis.from_url(redis_url)
    subscription = client.pubsub(ignore_subscribe_messages=True)
    subscription.subscribe(channel(TENANT), channel("another-tenant"))
    received: list[tuple[str, dict[str, Any]]] = []

    def take() -> None:
        while (message := subscription.get_message(timeout=0.1)) is not None:
            received.append((message["channel"].decode(), json.loads(message["data"])))

    try:
        with running_worker(
            "services/gateway/live_worker.yaml",
            "gateway.live_worker",
            env=env,
            log_path=tmp_path / "worker.log",
            deadline=DEADLINE,
            require_clean_stop=True,
        ) as worker:
            worker.wait_until(lambda: queues_exist(vhost_url, *QUEUES))
            dispatch = event_dispatcher({"AMQP_URI": vhost_url})

            def publish() -> None:
                # Unsigned first: were it relayed, it would arrive before the signed one.
                dispatch("inventory", "stock_changed", forged)
                dispatch("inventory", "stock_changed", sign_event(secret, "inventory.stock_changed", stock))
                dispatch(
                    "channels",
                    "connection_health_changed",
                    sign_event(secret, "channels.connection_health_changed", health),
                )

            # A queue exists a moment before its binding: publish again every 2 s until it lands.
            publish_now_and_then = every(2.0, publish)
            worker.wait_until(
                lambda: {"inventory", "channels"} <= {notice["topic"] for _, notice in received},
                interval=0,
                between=lambda: (publish_now_and_then(), take()),
            )
            worker.wait_until(lambda: "dropped an unsigned or forged inventory.stock_changed" in worker.log())
            take()
    finally:
        subscription.close()
        client.close()
    assert {name for name, _ in received} == {channel(TENANT)}
    notices = [notice for _, notice in received]
    assert {"topic": "inventory", "skus": ["MUG"]} in notices
    assert {"topic": "channels"} in notices
    assert all(notice.get("skus") != ["FORGED"] for notice in notices)
