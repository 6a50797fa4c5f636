"""gateway.import_progress without a server: a fake call future that reads one request message per
poll, so the progress lines between the first and the last are seen, and failures and a client
that goes away are handled."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from flask import Flask

from gateway import import_progress
from gateway.errors import ApiProblem
from omnistock.catalog.v1 import catalog_service_pb2 as pb


class FakeFuture:
    """Each `result(timeout)` reads one message (the catalog taking a chunk), then times out;
    once every message is read it returns `reply` or raises `error`."""

    def __init__(self, messages: Iterator[pb.ImportProductsRequest], error: grpc.RpcError | None) -> None:
        self.messages = messages
        self.error = error
        self.polls = 0
        self.cancelled = False

    def result(self, timeout: float | None = None) -> pb.ImportProductsResponse:
        self.polls += 1
        if next(self.messages, None) is not None:
            raise grpc.FutureTimeoutError()
        if self.error is not None:
            raise self.error
        return pb.ImportProductsResponse(created=2, rows=3, errors=[pb.ImportRowError(row=3, column="price")])

    def cancel(self) -> bool:
        self.cancelled = True
        return True


class Unavailable(grpc.RpcError):
    """Not a grpc.Call: the mapper's generic branch."""


def chunks(data: bytes, size: int) -> Iterator[pb.ImportProductsRequest]:
    yield pb.ImportProductsRequest(options=pb.ImportOptions(default_currency="USD"))
    for start in range(0, len(data), size):
        yield pb.ImportProductsRequest(chunk=data[start : start + size])


def run(
    data: bytes, error: grpc.RpcError | None = None
) -> tuple[list[dict[str, Any]], list[FakeFuture], io.BytesIO]:
    futures: list[FakeFuture] = []
    upload = io.BytesIO(data)

    def start(messages: Iterator[pb.ImportProductsRequest]) -> FakeFuture:
        futures.append(FakeFuture(messages, error))
        return futures[-1]

    app = Flask(__name__)
    with app.test_request_context("/api/v1/products/import", method="POST"):
        response = import_progress.streamed_import(
            start,
            chunks(data, 10),
            upload,
            lambda reply: json.dumps({"created": reply.created}),
            lambda err: ApiProblem(503, "a backend service is unavailable"),
        )
    assert futures == []  # nothing starts before the body is read
    with app.test_request_context("/api/v1/products/import", method="POST"):
        body = b"".join(response.response)
    return [json.loads(line) for line in body.decode().splitlines()], futures, upload


def test_a_progress_line_per_poll_in_which_bytes_moved_then_the_report() -> None:
    lines, (future,), upload = run(b"x" * 35)
    progress = [line["progress"] for line in lines[:-1]]
    # The options message moves no bytes: no line for that poll.
    assert [p["bytes_done"] for p in progress] == [0, 10, 20, 30, 35]
    assert {p["bytes_total"] for p in progress} == {35}
    assert lines[-1] == {"report": {"created": 2}}
    assert future.cancelled and upload.closed  # cancel after the end is a no-op in grpc


def test_a_failure_is_the_last_line() -> None:
    lines, _, upload = run(b"y" * 12, error=Unavailable())
    assert "progress" in lines[0]
    assert lines[-1]["problem"]["status"] == 503
    assert lines[-1]["problem"]["detail"] == "a backend service is unavailable"
    assert upload.closed


def test_a_client_that_goes_away_cancels_the_call() -> None:
    futures: list[FakeFuture] = []
    upload = io.BytesIO(b"z" * 100)
    app = Flask(__name__)
    with app.test_request_context("/api/v1/products/import", method="POST"):
        response = import_progress.streamed_import(
            lambda messages: futures.append(FakeFuture(messages, None)) or futures[-1],
            chunks(b"z" * 100, 10),
            upload,
            lambda reply: "{}",
            lambda err: ApiProblem(500),
        )
    with app.test_request_context("/api/v1/products/import", method="POST"):
        body = iter(response.response)
        assert b"progress" in next(body)
        body.close()  # what the WSGI server does when the client disconnects
    assert futures[0].cancelled and upload.closed


@pytest.mark.parametrize(
    ("accept", "streamed"),
    [
        ("application/x-ndjson", True),
        ("application/json, application/x-ndjson;q=0.5", True),
        ("application/x-ndjson;q=0", False),
        ("*/*", False),
        ("application/json", False),
        (None, False),
    ],
)
def test_only_a_client_that_names_ndjson_gets_it(accept: str | None, streamed: bool) -> None:
    headers = {"Accept": accept} if accept else {}
    with Flask(__name__).test_request_context("/", headers=headers):
        assert import_progress.wants_ndjson() is streamed
