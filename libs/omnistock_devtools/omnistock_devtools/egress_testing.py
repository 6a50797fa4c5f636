"""Test doubles for the egress guard: a stub resolver and a recording HTTP server on 127.0.0.2.

The guard's decisions about private and link-local ranges are tested through a stub resolver, so
no test ever sends a packet off the machine; real sockets go to loopback only. 127.0.0.2 (not
127.0.0.1) shows that a request went to the address the guard checked, not to a re-resolution
of "localhost".
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer


class StubResolver:
    """name -> addresses; anything else fails like an unknown name. Records every lookup."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        if host not in self.answers:
            raise OSError("Name or service not known")
        return self.answers[host]


@contextmanager
def loopback_recorder() -> Iterator[tuple[int, list[tuple[str, str]]]]:
    """An HTTP server on 127.0.0.2 answering `{"ok": true}`: yields its port and the (path, Host)
    of every GET it received."""
    seen: list[tuple[str, str]] = []

    class Recorder(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append((self.path, self.headers.get("Host", "")))
            body = b'{"ok": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            """Quiet: tests read `seen`, not the server's log."""

    server = HTTPServer(("127.0.0.2", 0), Recorder)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()
