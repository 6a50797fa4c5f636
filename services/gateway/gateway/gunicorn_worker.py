"""The gunicorn worker the gateway runs under: gunicorn's own error answers become problem+json.

A request gunicorn refuses before the app sees it (request line longer than limit_request_line:
414, headers beyond limit_request_fields/limit_request_field_size: 431, a malformed request line
or chunk: 400) was answered with gunicorn's HTML page, the one reply of the API that was not
application/problem+json (issue 12, point 9). gunicorn writes those pages with
`gunicorn.util.write_error`; this worker replaces that function in its own process with one that
writes the same status as an RFC 9457 problem document.

Selected by gateway.gunicorn_conf (`gunicorn --config python:gateway.gunicorn_conf ...`).
"""

from __future__ import annotations

import json
import socket
from typing import Any

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

from gateway.errors import PROBLEM_JSON, PROBLEM_TYPE_BASE

_SLUGS = {
    400: "invalid-request",
    403: "forbidden",
    414: "uri-too-long",
    417: "expectation-failed",
    431: "headers-too-large",
}
_MAX_DETAIL = 200


def problem_error_response(status: int, reason: str, message: str) -> bytes:
    """The bytes of a complete HTTP/1.1 problem+json error response (connection closed after)."""
    document: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + _SLUGS.get(status, "internal" if status >= 500 else "invalid-request"),
        "title": reason,
        "status": status,
    }
    if message:
        # gunicorn's message may quote the request line: cut, and JSON-escaped by json.dumps.
        document["detail"] = message if len(message) <= _MAX_DETAIL else message[:_MAX_DETAIL] + "..."
    body = json.dumps(document).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Connection: close\r\n"
        f"Content-Type: {PROBLEM_JSON}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Cache-Control: no-store\r\n"
        "X-Content-Type-Options: nosniff\r\n\r\n"
    )
    return head.encode("latin-1") + body


def write_problem_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    """Drop-in replacement for gunicorn.util.write_error (same signature)."""
    util.write_nonblock(sock, problem_error_response(int(status_int), reason, mesg))


class ProblemJsonWorker(ThreadWorker):
    """gunicorn's threaded worker (what `--threads` selects) with problem+json error pages."""

    def init_process(self) -> None:
        util.write_error = write_problem_error  # type: ignore[assignment]
        super().init_process()
