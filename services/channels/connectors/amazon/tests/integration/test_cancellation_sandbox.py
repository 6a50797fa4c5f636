"""CancelOrder: the real Amazon connector sends the order acknowledgement feed to the real sandbox
(fixtures in conftest.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
import pytest

from omnistock.connector.v1 import connector_service_pb2 as pb

if TYPE_CHECKING:
    from conftest import Env

pytestmark = pytest.mark.redis


def place(env: Env, **lines: int) -> str:
    body = {"lines": [{"sku": sku, "quantity": q} for sku, q in lines.items()]}
    placed = env.sandbox.post("/_sandbox/orders", json=body)
    assert placed.status_code == 201, placed.text
    return str(placed.json()["id"])


def cancel(env: Env, ctx: pb.ConnectionContext, order_id: str, reason: str = "") -> pb.CancelOrderResponse:
    return env.call(
        "CancelOrder", pb.CancelOrderRequest(connection=ctx, external_order_id=order_id, reason=reason)
    )


def test_an_unshipped_order_is_cancelled_by_feed_and_a_retry_sends_nothing(env: Env) -> None:
    ctx = env.connected()
    env.seed(2, prefix="MUG")
    env.sandbox.post("/_sandbox/inventory", json={"sku": "MUG-0000", "quantity": 5})
    order_id = place(env, **{"MUG-0000": 2})
    assert env.sandbox.get("/_sandbox/inventory").json()["MUG-0000"] == 3

    done = cancel(env, ctx, order_id, reason="customer")
    assert done.external_id.startswith("feed ")
    view = env.sandbox.get(f"/_sandbox/orders/{order_id}").json()
    assert view["status"] == "Canceled"
    (cancelled,) = env.sandbox.get("/_sandbox/cancellations").json()["cancellations"]
    assert cancelled["order_id"] == order_id and set(cancelled["reasons"].values()) == {"BuyerCanceled"}
    assert cancelled["feed_id"] == done.external_id.removeprefix("feed ")
    assert env.sandbox.get("/_sandbox/inventory").json()["MUG-0000"] == 5  # Amazon restocks

    again = cancel(env, ctx, order_id)
    assert again.external_id == f"{order_id}/Canceled"
    assert env.calls()["createFeed"] == 1

    other = place(env, **{"MUG-0001": 1})
    cancel(env, ctx, other, reason="inventory")
    reasons = env.sandbox.get("/_sandbox/cancellations").json()["cancellations"][1]["reasons"]
    assert set(reasons.values()) == {"NoInventory"}
    assert env.sandbox.get("/_sandbox/inventory").json()["MUG-0001"] == 0  # NoInventory: not restocked


def test_a_shipped_or_unknown_order_is_refused_without_a_feed(env: Env) -> None:
    ctx = env.connected()
    env.seed(1, prefix="CUP")
    env.sandbox.post("/_sandbox/inventory", json={"sku": "CUP-0000", "quantity": 4})
    order_id = place(env, **{"CUP-0000": 2})
    env.call(
        "CreateFulfillment",
        pb.CreateFulfillmentRequest(
            connection=ctx,
            external_order_id=order_id,
            tracking_number="1Z1",
            carrier="UPS",
            lines=[pb.FulfillmentLine(sku="CUP-0000", quantity=1)],
        ),
    )
    with pytest.raises(grpc.RpcError) as shipped:
        cancel(env, ctx, order_id)
    assert shipped.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "shipped" in (shipped.value.details() or "").lower()
    with pytest.raises(grpc.RpcError) as unknown:
        cancel(env, ctx, "999-9999999-9999999")
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
    assert "createFeed" not in env.calls()
