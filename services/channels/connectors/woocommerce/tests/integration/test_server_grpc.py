"""RPCs that need no store: Describe, the OAuth RPCs, webhook verification, error statuses."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from omnistock.connector.v1 import connector_service_pb2 as pb

SECRET = "wh-secret-1"
# Nothing listens here: these tests must never reach a store.
UNREACHABLE = "http://127.0.0.1:9"  # a store URL nothing listens on


def _reason(error: grpc.RpcError) -> str:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info.reason
    return ""


def test_describe(connector) -> None:  # type: ignore[no-untyped-def]
    response = connector.call("Describe", pb.DescribeRequest())
    assert response.channel_type == "woocommerce"
    assert response.auth_kind == pb.AUTH_KIND_API_KEY
    assert response.max_inventory_batch == 100
    assert response.api_version == "wc/v3"
    assert pb.CAPABILITY_INVENTORY in response.capabilities


@pytest.mark.parametrize(
    ("method", "request_type"),
    [
        ("BuildAuthorizationUrl", pb.BuildAuthorizationUrlRequest),
        ("ExchangeCode", pb.ExchangeCodeRequest),
        ("RefreshCredentials", pb.RefreshCredentialsRequest),
    ],
)
def test_oauth_rpcs_are_failed_precondition(connector, make_connection, method, request_type) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as caught:
        connector.call(method, request_type(connection=make_connection(UNREACHABLE)))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "API keys" in caught.value.details()


def _signed(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _webhook(connector, make_connection, headers: dict[str, str], body: bytes, secret: str = SECRET):  # type: ignore[no-untyped-def]
    request = pb.ParseWebhookRequest(
        connection=make_connection(UNREACHABLE, webhook_secret=secret), headers=headers, raw_body=body
    )
    return connector.call("ParseWebhook", request)


ORDER = {
    "id": 41,
    "number": "41",
    "status": "processing",
    "currency": "USD",
    "total": "12.50",
    "date_created_gmt": "2024-05-01T08:00:00",
    "date_modified_gmt": "2024-05-01T08:00:03",
    "billing": {"email": "b@example.com"},
    "line_items": [{"id": 9, "sku": "MUG", "quantity": 1, "price": 12.5, "name": "Mug"}],
}


# What WC_Webhook::deliver() sends besides the signature; the source is the store of UNREACHABLE.
_DELIVERY = {
    "X-WC-Webhook-Topic": "order.created",
    "X-WC-Webhook-Resource": "order",
    "X-WC-Webhook-Event": "created",
    "X-WC-Webhook-Source": "http://127.0.0.1:9/",
}


def test_signed_order_webhook(connector, make_connection) -> None:  # type: ignore[no-untyped-def]
    body = json.dumps(ORDER).encode()
    headers = {**_DELIVERY, "X-WC-Webhook-Signature": _signed(body), "X-WC-Webhook-Delivery-ID": "d3l1v3ry"}
    response = _webhook(connector, make_connection, headers, body)
    assert response.kind == pb.WEBHOOK_KIND_ORDER
    assert response.delivery_id == "d3l1v3ry"
    (order,) = response.orders
    assert order.external_id == "41" and order.external_name == "#41"
    assert order.status == pb.ORDER_STATUS_PAID and order.raw_status == "processing"
    assert order.total.amount_minor == 1250 and order.total.currency == "USD"
    assert order.lines[0].sku == "MUG" and order.lines[0].unit_price.amount_minor == 1250
    assert order.updated_at.ToJsonString() == "2024-05-01T08:00:03Z"


@pytest.mark.parametrize(
    "mutate",
    [
        # (the same header name as the good one: two spellings of one header in a gRPC map have no order)
        lambda h, b: ({**h, "X-WC-Webhook-Signature": _signed(b, "wrong")}, b),
        lambda h, b: (h, b.replace(b"12.50", b"0.01")),
        lambda h, b: ({"x-wc-webhook-topic": "order.created"}, b),
        # validly signed, but from another store / on a topic we did not subscribe to
        lambda h, b: ({**h, "X-WC-Webhook-Source": "https://attacker.example/"}, b),
        lambda h, b: ({**h, "X-WC-Webhook-Topic": "coupon.created", "X-WC-Webhook-Resource": "coupon"}, b),
    ],
)
def test_bad_signature_is_unauthenticated(connector, make_connection, mutate: Callable) -> None:  # type: ignore[no-untyped-def,type-arg]
    body = json.dumps(ORDER).encode()
    headers, sent = mutate({**_DELIVERY, "X-WC-Webhook-Signature": _signed(body)}, body)
    with pytest.raises(grpc.RpcError) as caught:
        _webhook(connector, make_connection, headers, sent)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_signed_webhook_without_a_stored_secret_is_refused(connector, make_connection) -> None:  # type: ignore[no-untyped-def]
    body = b'{"id": 1}'
    with pytest.raises(grpc.RpcError) as caught:
        _webhook(connector, make_connection, {"x-wc-webhook-signature": _signed(body)}, body, secret="")
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert _reason(caught.value) == "CREDENTIALS_MISSING"


def test_unsigned_ping_is_accepted(connector, make_connection) -> None:  # type: ignore[no-untyped-def]
    response = _webhook(
        connector, make_connection, {"content-type": "application/x-www-form-urlencoded"}, b"webhook_id=7"
    )
    assert response.kind == pb.WEBHOOK_KIND_PING
    assert response.delivery_id == "ping:7"


def test_unreachable_store_is_unavailable(connector, make_connection) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as caught:
        connector.call(
            "ValidateCredentials", pb.ValidateCredentialsRequest(connection=make_connection(UNREACHABLE))
        )
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert connector.sleeps  # it retried (with backoff recorded, not slept)


def test_missing_store_url_is_invalid_argument(connector, make_connection) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as caught:
        connector.call("ValidateCredentials", pb.ValidateCredentialsRequest(connection=make_connection("")))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
