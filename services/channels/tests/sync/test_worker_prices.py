"""The real worker (`nameko run ... channels.worker` as a child process) consumes
`pricing.price_changed` nameko events published as the pricing worker publishes them (service
`pricing`, signed with INTERNAL_TOKEN_SECRET) and its flusher pushes the price to both sandboxes.
An unsigned event and a signed but malformed one published first are dropped (and logged), never
requeued. Runs on TEST_AMQP_URL's virtual host and the test's own Redis database.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from nameko.standalone.events import event_dispatcher

from omnistock_common.config import load_internal_auth_settings
from omnistock_common.service_auth import sign_event
from omnistock_devtools.worker_process import every, queues_exist

pytestmark = [
    pytest.mark.redis,
    pytest.mark.rabbitmq,
    pytest.mark.slow,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]
Stack = Any
QUEUE = "evt-pricing-price_changed--channels_sync.on_price_changed"
DEADLINE = 60.0


def _event(connection_id: str, minor: int, currency: str, version: int) -> dict[str, Any]:
    return {
        "tenant_id": "tenant-sync",
        "connection_id": connection_id,
        "sku": "CUP",
        "price": {"amount_minor": minor, "currency": currency},
        "compare_at_price": None,
        "version": version,
        "changed_at": datetime(2026, 12, 6, tzinfo=UTC).isoformat(),
        "reason": "manual",
    }


def _prices(sandbox: Any) -> dict[str, Any]:
    return dict(sandbox.http.get("/_sandbox/prices").json())


def test_the_worker_pushes_signed_price_changes_and_drops_the_rest(
    own_redis_stack: Stack, amqp_url: str, tmp_path: Path
) -> None:
    stack = own_redis_stack
    stack.seed({"CUP": 1})
    env = stack.worker_env(amqp_url)
    secret = load_internal_auth_settings(env).token_secret
    with stack.worker(env, tmp_path / "worker.log", DEADLINE) as worker:
        worker.wait_until(lambda: queues_exist(amqp_url, QUEUE))
        dispatch = event_dispatcher({"AMQP_URI": amqp_url})

        def publish() -> None:
            # Unsigned, newer version: dropped (else 1.00 would land and 89.00 be "older").
            dispatch("pricing", "price_changed", _event(stack.woo_id, 100, "EUR", 9))
            malformed = _event(stack.woo_id, -5, "euro", 9)
            dispatch("pricing", "price_changed", sign_event(secret, "pricing.price_changed", malformed))
            for cid, minor, currency in ((stack.shopify_id, 9900, "USD"), (stack.woo_id, 8900, "EUR")):
                signed = sign_event(secret, "pricing.price_changed", _event(cid, minor, currency, 1))
                dispatch("pricing", "price_changed", signed)

        worker.wait_until(
            lambda: (
                _prices(stack.shopify)["CUP"]["price"] == "99.00"
                and _prices(stack.woo)["CUP"]["price"] == "89.00"
            ),
            between=every(5, publish),  # until the binding exists
        )
        text = worker.log()
        assert "dropped an unsigned or forged pricing.price_changed" in text
        assert "dropped a malformed pricing.price_changed" in text
    with stack.channels.parts.deps.uow.transaction() as repo:
        state = repo.listing_push_states("tenant-sync", stack.woo_id, ["CUP"])["CUP"]
    assert (state.last_pushed_price, state.last_pushed_price_version) == ("8900:EUR::", 1)
