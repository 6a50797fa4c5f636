"""The CSV import's progress as NDJSON: what POST /products/import answers to
`Accept: application/x-ndjson`.

Why a streamed body: the import is one client-streaming gRPC call that can run for minutes on a
large file, and the dashboard wants a progress bar. The gateway already knows how far the catalog
has read (the bytes the request generator has handed to gRPC), so while the call runs it writes a
progress line at most every PROGRESS_SECONDS, then one line with the report — or, since the 200 is
already sent, one line with the problem document of a failure. Without the header the route
answers as before (one JSON report or a problem response).
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

import grpc
from flask import Response, request, stream_with_context
from werkzeug.datastructures import FileStorage

from gateway.errors import ApiProblem
from omnistock.catalog.v1 import catalog_service_pb2 as pb

log = logging.getLogger(__name__)

NDJSON = "application/x-ndjson"
# At most one progress line per this many seconds (plus the first and the last one).
PROGRESS_SECONDS = 0.25

# The NDJSON body in the OpenAPI document: one object per line, in this order.
NDJSON_CONTENT = {
    NDJSON: {
        "schema": {
            "description": (
                "one JSON object per line: `progress` lines while the catalog reads the upload, "
                "then exactly one `report` line (the application/json answer) or one `problem` line"
            ),
            "oneOf": [
                {
                    "type": "object",
                    "title": "ImportProgressLine",
                    "properties": {
                        "progress": {
                            "type": "object",
                            "properties": {
                                "bytes_done": {"type": "integer", "minimum": 0},
                                "bytes_total": {"type": "integer", "minimum": 0},
                            },
                            "required": ["bytes_done", "bytes_total"],
                        }
                    },
                    "required": ["progress"],
                },
                {
                    "type": "object",
                    "title": "ImportReportLine",
                    "properties": {"report": {"$ref": "#/components/schemas/ImportReportOut"}},
                    "required": ["report"],
                },
                {
                    "type": "object",
                    "title": "ImportProblemLine",
                    "properties": {"problem": {"$ref": "#/components/schemas/Problem"}},
                    "required": ["problem"],
                },
            ],
        }
    }
}


def wants_ndjson() -> bool:
    """The client named application/x-ndjson itself (a `*/*` keeps the plain JSON answer)."""
    return any(value == NDJSON and quality > 0 for value, quality in request.accept_mimetypes)


def take_upload(upload: FileStorage) -> IO[bytes]:
    """The spooled file of `upload`, owned by the caller from now on. Flask closes the request's
    files when the view returns, before a streamed body is read (flask.stream_with_context pushes
    the context again only for each iteration), so the streamed import takes the file out of the
    request and closes it itself once the catalog call has ended."""
    stream = upload.stream
    upload.stream = io.BytesIO()
    return stream


def upload_size(stream: IO[bytes]) -> int:
    """The spooled upload's size in bytes (werkzeug's file parts are seekable), else the request's
    Content-Length as an upper bound."""
    try:
        position = stream.tell()
        size = stream.seek(0, 2)
        stream.seek(position)
        return int(size)
    except (AttributeError, OSError, ValueError):
        return int(request.content_length or 0)


class ByteCounter:
    """Counts the chunk bytes of the request messages as gRPC pulls them from the iterator (on
    its own thread; reading an int from another thread is safe)."""

    def __init__(self, messages: Iterable[pb.ImportProductsRequest]) -> None:
        self._messages = messages
        self.done = 0

    def __iter__(self) -> Iterator[pb.ImportProductsRequest]:
        for message in self._messages:
            yield message
            self.done += len(message.chunk)


def _line(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode() + b"\n"


def _progress(done: int, total: int) -> bytes:
    # A size from Content-Length may be below what was read; never report more than 100%.
    return _line({"progress": {"bytes_done": done, "bytes_total": max(total, done)}})


def streamed_import(
    start: Callable[[Iterator[pb.ImportProductsRequest]], Any],
    messages: Iterable[pb.ImportProductsRequest],
    upload: IO[bytes],
    report_json: Callable[[pb.ImportProductsResponse], str],
    problem_for: Callable[[grpc.RpcError], ApiProblem],
) -> Response:
    """Answers 200 and, as the body is read, runs the import (`start` is the stub's
    ImportProducts.future over `messages`, which read `upload`): its progress, then the report or
    the problem. A client that goes away cancels the call; `upload` is closed at the end."""
    bytes_total = upload_size(upload)

    def lines() -> Iterator[bytes]:
        counter = ByteCounter(messages)
        future = start(iter(counter))
        sent = 0
        try:
            yield _progress(0, bytes_total)
            while True:
                try:
                    reply = future.result(timeout=PROGRESS_SECONDS)
                except grpc.FutureTimeoutError:
                    if counter.done != sent:
                        sent = counter.done
                        yield _progress(sent, bytes_total)
                    continue
                if counter.done != sent:
                    yield _progress(counter.done, bytes_total)
                yield b'{"report":' + report_json(reply).encode() + b"}\n"
                return
        except grpc.RpcError as err:
            problem = problem_for(err)
            if problem.status >= 500:
                code = err.code() if isinstance(err, grpc.Call) else None
                log.warning("streamed import failed: %s", code, extra={"http_status": problem.status})
            yield _line({"problem": problem.to_dict()})
        except grpc.FutureCancelledError:
            yield _line({"problem": ApiProblem(503, "the import was cancelled").to_dict()})
        finally:
            future.cancel()
            upload.close()

    return Response(
        stream_with_context(lines()),
        mimetype=NDJSON,
        # Proxies (nginx ingress) would otherwise hold the lines back until the end.
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
