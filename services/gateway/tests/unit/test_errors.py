"""The gRPC → HTTP table and google.rpc detail decoding into problem fields."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from gateway.domain import RateLimited
from gateway.errors import GRPC_TO_HTTP, ApiProblem, ErrorMapper, http_status_for
from omnistock.inventory.v1 import inventory_service_pb2
from omnistock_common.errors import Aborted, FieldViolation, InvalidArgument
from omnistock_common.grpc_status import to_rpc_status


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (grpc.StatusCode.NOT_FOUND, 404),
        (grpc.StatusCode.INVALID_ARGUMENT, 400),
        (grpc.StatusCode.ALREADY_EXISTS, 409),
        (grpc.StatusCode.FAILED_PRECONDITION, 409),
        (grpc.StatusCode.ABORTED, 409),
        (grpc.StatusCode.PERMISSION_DENIED, 403),
        (grpc.StatusCode.UNAUTHENTICATED, 401),
        (grpc.StatusCode.UNAVAILABLE, 503),
        (grpc.StatusCode.DEADLINE_EXCEEDED, 504),
        (grpc.StatusCode.INTERNAL, 500),
        (grpc.StatusCode.UNKNOWN, 500),
        (grpc.StatusCode.DATA_LOSS, 500),
    ],
)
def test_table(code: grpc.StatusCode, status: int) -> None:
    assert http_status_for(code, had_if_match=False) == status


def test_aborted_is_412_only_with_if_match() -> None:
    assert http_status_for(grpc.StatusCode.ABORTED, had_if_match=True) == 412
    assert http_status_for(grpc.StatusCode.NOT_FOUND, had_if_match=True) == 404
    assert GRPC_TO_HTTP[grpc.StatusCode.ABORTED] == 409


def test_bad_request_details_become_errors() -> None:
    error = InvalidArgument(
        "bad", violations=[FieldViolation("variants[0].sku", "empty"), FieldViolation("title", "long")]
    )
    problem = ErrorMapper().from_status(to_rpc_status(error), had_if_match=False)
    assert problem.status == 400 and problem.detail == "bad"
    assert problem.extensions["errors"] == [
        {"field": "variants[0].sku", "message": "empty"},
        {"field": "title", "message": "long"},
    ]


def test_error_info_reason_and_412() -> None:
    problem = ErrorMapper().from_domain_error(
        Aborted("changed", reason="VERSION_MISMATCH"), had_if_match=True
    )
    assert problem.status == 412 and problem.extensions["reason"] == "VERSION_MISMATCH"


def test_a_reused_idempotency_key_is_422_and_other_invalid_arguments_stay_400() -> None:
    reused = InvalidArgument("key used for another order", reason="IDEMPOTENCY_KEY_REUSED")
    problem = ErrorMapper().from_domain_error(reused, had_if_match=False)
    assert (problem.status, problem.slug, problem.title) == (
        422,
        "idempotency-key-reused",
        "Unprocessable Entity",
    )
    assert problem.detail == "key used for another order"
    assert problem.extensions["reason"] == "IDEMPOTENCY_KEY_REUSED"
    other = InvalidArgument("bad", reason="SOMETHING_ELSE", violations=[FieldViolation("lines", "empty")])
    assert ErrorMapper().from_domain_error(other, had_if_match=False).status == 400


def test_internal_hides_the_message() -> None:
    status = status_pb2.Status(code=grpc.StatusCode.INTERNAL.value[0], message="psycopg: password=hunter2")
    problem = ErrorMapper().from_status(status, had_if_match=False)
    assert (
        problem.status == 500 and problem.detail == "internal error" and "hunter2" not in repr(vars(problem))
    )


def test_rate_limited_carries_retry_after() -> None:
    problem = ErrorMapper().from_domain_error(RateLimited("slow down", retry_after=42), had_if_match=False)
    assert problem.status == 429 and problem.headers["Retry-After"] == "42"


def test_custom_decoder_adds_extension_fields() -> None:
    # How inventory would surface `lines` for a 409 insufficient-stock answer: any detail type
    # can be decoded; here a QuotaFailure stands in for inventory's own message.
    def decode_lines(detail: error_details_pb2.QuotaFailure, problem: ApiProblem) -> None:
        problem.extensions["lines"] = [
            {"sku": v.subject, "message": v.description} for v in detail.violations
        ]

    mapper = ErrorMapper()
    mapper.register(error_details_pb2.QuotaFailure, decode_lines)
    status = status_pb2.Status(
        code=grpc.StatusCode.FAILED_PRECONDITION.value[0], message="insufficient stock"
    )
    status.details.add().Pack(
        error_details_pb2.QuotaFailure(
            violations=[{"subject": "SKU-1", "description": "requested 5, available 2"}]
        )
    )
    problem = mapper.from_status(status, had_if_match=False)
    assert problem.status == 409
    assert problem.extensions["lines"] == [{"sku": "SKU-1", "message": "requested 5, available 2"}]
    # The default mapper does not know the type and simply ignores it.
    assert "lines" not in ErrorMapper().from_status(status, had_if_match=False).extensions


def test_insufficient_stock_becomes_lines() -> None:
    status = status_pb2.Status(
        code=grpc.StatusCode.FAILED_PRECONDITION.value[0], message="insufficient stock"
    )
    status.details.add().Pack(
        inventory_service_pb2.InsufficientStock(
            lines=[inventory_service_pb2.ShortLine(sku="SKU-1", requested=5, available=2)]
        )
    )
    problem = ErrorMapper().from_status(status, had_if_match=False)
    assert problem.status == 409
    assert problem.extensions["lines"] == [{"sku": "SKU-1", "requested": 5, "available": 2}]
