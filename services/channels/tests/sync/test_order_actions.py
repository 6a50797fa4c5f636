"""Fulfilments and cancellations the orders service asks for, sent to the real sandboxes through the
real connectors: stored once per request, retried with backoff until the channel accepts (the
sandbox then shows the tracking), failed for good when it refuses, waiting while the connection
is disconnected; each attempt one sync-log row, each end one `channels.order_action_synced`.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlalchemy import select

from channels import domain, models, order_actions
from channels.sync import in_flight
from omnistock_common import service_auth

pytestmark = pytest.mark.redis
Stack = Any  # conftest.Stack
SECRET = "order-actions-tests-secret-0123456789abcdef"
TENANT = "tenant-sync"


def synced_events(stack: Stack) -> list[dict[str, Any]]:
    t = models.outbox
    with stack.channels.parts.deps.uow.transaction() as repo:
        rows = repo.conn.execute(
            select(t.c.payload).where(t.c.event_type == "channels.order_action_synced").order_by(t.c.id)
        )
        return [json.loads(r.payload) for r in rows]


def actions(stack: Stack, order_id: str) -> list[Any]:
    with stack.channels.parts.deps.uow.transaction() as repo:
        return repo.order_actions_of(TENANT, order_id)


def request(stack: Stack, action: str, **fields: Any) -> bool:
    payload = {"tenant_id": TENANT, "order_id": "ord-1", **fields}
    event = service_auth.sign_event(SECRET, order_actions.REQUEST_EVENTS[action], payload)
    return order_actions.accept_request(stack.engine, action, event, SECRET)


def send_until_done(stack: Stack, order_id: str, deadline: float = 30.0) -> list[order_actions.Attempt]:
    """Run the sender as the worker's timer would, until no action of the order is pending."""
    give_up = time.monotonic() + deadline
    attempts: list[order_actions.Attempt] = []
    while any(a.status == "pending" for a in actions(stack, order_id)):
        assert time.monotonic() < give_up, (attempts, actions(stack, order_id))
        attempts += order_actions.send_due(stack.engine)
        time.sleep(0.02)
    return attempts


def log_rows(stack: Stack, connection_id: str, operation: str) -> list[tuple[str, str]]:
    return [
        (e.outcome, e.message) for e in reversed(stack.sync_log(connection_id)) if e.operation == operation
    ]


def shopify_order(stack: Stack) -> tuple[dict[str, Any], Any]:
    stack.seed({"CUP": 5})
    placed = stack.shopify.post("/_sandbox/orders", {"lines": [{"sku": "CUP", "quantity": 2}]}).json()
    in_flight.poll_orders(
        stack.channels.parts.deps.caller, stack.channels.parts.deps.uow, TENANT, stack.shopify_id
    )
    (line,) = placed["order"]["line_items"]
    return placed, line


def test_a_fulfilment_is_retried_until_the_shop_accepts_and_the_sandbox_shows_the_tracking(
    stack: Stack,
) -> None:
    placed, line = shopify_order(stack)
    fault = {"status": 500, "count": 2, "operation": "fulfillmentCreate"}
    assert stack.shopify.post("/_sandbox/faults", fault).status_code == 200
    fields = {
        "fulfillment_id": "ful-1",
        "connection_id": stack.shopify_id,
        "external_order_id": str(placed["legacy_id"]),
        "carrier": "UPS",
        "tracking_number": "1Z999",
        "tracking_url": "https://ups.test/1Z999",
        "lines": [{"external_line_id": str(line["id"]), "sku": "CUP", "quantity": 2}],
    }
    assert request(stack, order_actions.FULFILLMENT, **fields)
    assert not request(stack, order_actions.FULFILLMENT, **fields)  # a repeated event: the same row

    attempts = send_until_done(stack, "ord-1")
    assert [a.outcome for a in attempts] == ["retry", "retry", "synced"]
    view = stack.shopify.http.get(f"/_sandbox/orders/{placed['legacy_id']}").json()
    (fulfillment,) = view["fulfillments"]
    assert (fulfillment["tracking_company"], fulfillment["tracking_number"], fulfillment["tracking_url"]) == (
        "UPS",
        "1Z999",
        "https://ups.test/1Z999",
    )
    (event,) = synced_events(stack)
    assert event == {
        "tenant_id": TENANT,
        "order_id": "ord-1",
        "action": "fulfillment",
        "fulfillment_id": "ful-1",
        "outcome": "synced",
        "external_id": str(fulfillment["id"]),
        "message": "",
    }
    rows = log_rows(stack, stack.shopify_id, "create_fulfillment")
    assert [outcome for outcome, _ in rows] == ["error", "error", "ok"]
    (stored,) = actions(stack, "ord-1")
    assert (stored.status, stored.attempts, stored.external_id) == ("synced", 3, str(fulfillment["id"]))


def test_a_cancel_the_shop_refuses_fails_for_good(stack: Stack) -> None:
    placed, _ = shopify_order(stack)
    order_id = str(placed["legacy_id"])
    fulfil = {"fulfillment_id": "ful-1", "connection_id": stack.shopify_id, "external_order_id": order_id}
    assert request(stack, order_actions.FULFILLMENT, **fulfil, tracking_number="1Z1")
    send_until_done(stack, "ord-1")
    # Shopify cannot cancel an order that has shipped: a refusal, not worth retrying.
    cancel = {"connection_id": stack.shopify_id, "external_order_id": order_id, "reason": "customer"}
    assert request(stack, order_actions.CANCEL, **cancel)
    assert [a.outcome for a in send_until_done(stack, "ord-1")] == ["failed"]
    event = synced_events(stack)[-1]
    assert {k: event[k] for k in ("action", "outcome", "external_id")} == {
        "action": "cancel",
        "outcome": "failed",
        "external_id": "",
    }
    assert "fulfillment_id" not in event and "refused to cancel" in event["message"]
    assert [outcome for outcome, _ in log_rows(stack, stack.shopify_id, "cancel_order")] == ["error"]
    assert not stack.shopify.http.get(f"/_sandbox/orders/{order_id}").json()["cancelled"]


def test_a_cancel_reaches_woocommerce_and_waits_while_the_connection_is_disconnected(stack: Stack) -> None:
    stack.seed({"MUG": 5})
    placed = stack.woo.post("/_sandbox/orders", {"lines": [{"sku": "MUG", "quantity": 1}]}).json()
    uow, now = stack.channels.parts.deps.uow, stack.engine.clock()

    def set_health(health: Any) -> None:
        uow.run(lambda repo: repo.save_health(TENANT, stack.woo_id, health, now))

    healthy = stack.connection(stack.woo_id).health
    set_health(domain.disconnected(healthy, now, "keys revoked"))
    fields = {"connection_id": stack.woo_id, "external_order_id": str(placed["id"]), "reason": "out of stock"}
    assert request(stack, order_actions.CANCEL, **fields)
    assert [a.outcome for a in order_actions.send_due(stack.engine)] == ["waiting"]
    (waiting,) = actions(stack, "ord-1")
    assert (waiting.status, waiting.attempts) == ("pending", 0)
    assert log_rows(stack, stack.woo_id, "cancel_order") == []  # no call was made

    set_health(domain.after_success(domain.Health(), now))
    uow.run(lambda repo: repo.claim_order_action(waiting, now, now))  # due again (test shortcut)
    assert [a.outcome for a in send_until_done(stack, "ord-1")] == ["synced"]
    assert synced_events(stack)[-1]["external_id"] == str(placed["id"])
    assert stack.woo.http.get(f"/_sandbox/orders/{placed['id']}").json()["order"]["status"] == "cancelled"
    assert [outcome for outcome, _ in log_rows(stack, stack.woo_id, "cancel_order")] == ["ok"]


def test_unsigned_nameless_and_unsendable_requests(stack: Stack) -> None:
    payload = {
        "tenant_id": TENANT,
        "order_id": "ord-9",
        "connection_id": stack.woo_id,
        "external_order_id": "1",
    }
    assert not order_actions.accept_request(stack.engine, order_actions.CANCEL, payload, SECRET)
    forged = service_auth.sign_event(
        SECRET, "orders.fulfillment_requested", payload
    )  # signed as another type
    assert not order_actions.accept_request(stack.engine, order_actions.CANCEL, forged, SECRET)
    assert not request(stack, order_actions.FULFILLMENT, connection_id=stack.woo_id, external_order_id="1")
    assert actions(stack, "ord-1") == [] and actions(stack, "ord-9") == []

    bad_lines = [{"sku": "MUG", "quantity": 0}]
    fields = {
        "fulfillment_id": "ful-2",
        "connection_id": stack.woo_id,
        "external_order_id": "1",
        "lines": bad_lines,
    }
    assert request(stack, order_actions.FULFILLMENT, **fields)
    (stored,) = actions(stack, "ord-1")
    assert stored.status == "failed" and "positive quantity" in stored.last_error
    (event,) = synced_events(stack)
    assert (event["outcome"], event["fulfillment_id"]) == ("failed", "ful-2")
    assert order_actions.send_due(stack.engine) == []


def test_a_connection_of_another_tenant_is_a_refusal(stack: Stack) -> None:
    payload = {
        "tenant_id": "tenant-other",
        "order_id": "ord-x",
        "connection_id": stack.woo_id,
        "external_order_id": "1",
        "reason": "",
    }
    event = service_auth.sign_event(SECRET, "orders.cancel_requested", payload)
    assert order_actions.accept_request(stack.engine, order_actions.CANCEL, event, SECRET)
    assert [a.outcome for a in order_actions.send_due(stack.engine)] == ["failed"]
    with stack.channels.parts.deps.uow.transaction() as repo:
        (stored,) = repo.order_actions_of("tenant-other", "ord-x")
    assert stored.last_error == "connection not found"
