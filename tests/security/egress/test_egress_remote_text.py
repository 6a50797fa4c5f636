"""Issue 12, item 3 (read-back): what a remote server writes never comes back to the tenant beyond
a short, fixed reason — not in error details, connection names, health.last_error or the sync log.

The "store" is a hostile HTTP server on 127.0.0.1 that the operator allowed (the only way to reach
a non-public host at all); its error bodies carry a marker that must never show up anywhere the
tenant can read.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import urlparse

import pytest

from channels import jobs

from .conftest import Stack

pytestmark = pytest.mark.redis

MARKER = "REMOTE-SECRET-TEXT-aws_secret_access_key=AKIA0000"


class _HostileStore(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        path = urlparse(self.path)
        if path.path == "/wp-json/":
            self._send(200, {"name": "\u202eEvil\u200b Store\x00\n" + "A" * 300})
        elif path.path == "/wp-json/wc/v3/products" and "_fields=id" in path.query:
            self._send(200, [])  # the credential check passes
        else:
            self._send(404, {"code": "woocommerce_rest_no_route", "message": MARKER, "data": {"status": 404}})

    def do_POST(self) -> None:
        self._send(500, {"code": "internal", "message": MARKER})

    def _send(self, status: int, body: object) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hostile() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _HostileStore)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_remote_text_never_reaches_the_tenant(make_stack: Callable[..., Stack], hostile: str) -> None:
    stack = make_stack(f"{urlparse(hostile).netloc}")
    created = stack.gateway.post(
        "/api/v1/channels",
        json={
            "type": "woocommerce",
            "settings": {"store_url": hostile},
            "credentials": {"consumer_key": "ck_x", "consumer_secret": "cs_x"},
        },
        headers=stack.auth,
    )
    assert created.status_code == 201, created.json
    name = created.json["name"]
    # The store's title is kept, but cleaned (no bidi/zero-width/NUL/newline) and bounded.
    assert name.startswith("Evil Store A") and len(name) <= 100
    assert not any(ch in name for ch in "\u202e\u200b\x00\n")

    started = stack.gateway.post(
        f"/api/v1/channels/{created.json['id']}/listings/auto-map", json={"skus": ["A"]}, headers=stack.auth
    )
    assert started.status_code == 202, started.json
    assert jobs.run_job(stack.channels.parts.deps, started.json["job_id"]) == "failed"  # as the worker does
    job = stack.gateway.get(f"/api/v1/jobs/{started.json['job_id']}", headers=stack.auth)
    assert job.json["status"] == "failed"
    assert MARKER not in job.get_data(as_text=True)
    assert "woocommerce_rest_no_route" in job.json["error"]  # the code: a fixed vocabulary

    connection = stack.gateway.get(f"/api/v1/channels/{created.json['id']}", headers=stack.auth)
    log = stack.gateway.get(f"/api/v1/channels/{created.json['id']}/sync-log", headers=stack.auth)
    assert connection.json["health"]["error_count"] >= 1
    for text in (connection.get_data(as_text=True), log.get_data(as_text=True)):
        assert MARKER not in text


def test_wrong_keys_are_refused_without_the_stores_words(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack(lambda shop_url, woo_url: urlparse(woo_url).netloc)
    wrong = stack.gateway.post(
        "/api/v1/channels",
        json={
            "type": "woocommerce",
            "settings": {"store_url": stack.woo_url},
            "credentials": {"consumer_key": stack.woo.consumer_key, "consumer_secret": "cs_" + "9" * 40},
        },
        headers=stack.auth,
    )
    assert wrong.status_code == 400, wrong.json
    assert "woocommerce_rest_authentication_error" in wrong.json["detail"]
    assert "Consumer secret is invalid" not in wrong.get_data(as_text=True)  # the sandbox's own text
    assert stack.connections() == 0
