"""Domain errors become gRPC statuses with typed google.rpc details."""

from google.rpc import code_pb2, error_details_pb2

from omnistock_common.errors import FieldViolation, InvalidArgument, NotFound
from omnistock_common.grpc_status import internal_status, to_rpc_status


def test_invalid_argument_carries_field_violations() -> None:
    status = to_rpc_status(
        InvalidArgument(
            "bad product", reason="VALIDATION", violations=[FieldViolation("variants[0].sku", "empty")]
        )
    )
    assert status.code == code_pb2.INVALID_ARGUMENT
    assert status.message == "bad product"
    bad_request = error_details_pb2.BadRequest()
    info = error_details_pb2.ErrorInfo()
    assert any(d.Unpack(bad_request) for d in status.details)
    assert any(d.Unpack(info) for d in status.details)
    assert bad_request.field_violations[0].field == "variants[0].sku"
    assert info.reason == "VALIDATION"


def test_not_found_has_no_details_by_default() -> None:
    status = to_rpc_status(NotFound("product not found"))
    assert status.code == code_pb2.NOT_FOUND
    assert list(status.details) == []


def test_internal_status_names_only_the_request_id() -> None:
    status = internal_status("abc123")
    assert status.code == code_pb2.INTERNAL
    assert status.message == "internal error (request id abc123)"


def test_retry_after_becomes_retry_info() -> None:
    from omnistock_common.errors import Unavailable

    status = to_rpc_status(Unavailable("channel down", retry_after=2.5))
    info = error_details_pb2.RetryInfo()
    assert status.code == code_pb2.UNAVAILABLE
    assert any(d.Unpack(info) for d in status.details)
    assert info.retry_delay.seconds == 2 and info.retry_delay.nanos == 500_000_000


def test_errors_module_is_pure() -> None:
    """Domain modules raise these: importing them must not pull in grpc or protobuf."""
    import subprocess
    import sys

    probe = (
        "import sys, omnistock_common.errors; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('grpc', 'google')))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_every_grpc_error_code_has_a_domain_code() -> None:
    import grpc

    from omnistock_common.errors import Code

    assert {c.name for c in grpc.StatusCode} - {"OK"} == {c.value for c in Code}
