"""Plumbing shared by both sandboxes: serving, fault injection, call accounting, webhook delivery.

Also the `python -m` run loop. What every sandbox instance has, and the control routes both answer
identically, are in control.py. Everything here is protocol-neutral. The vendor-specific parts (paths, auth, payload shapes, error
bodies, signature headers) live in the `shopify` and `woocommerce` packages; this module only gives
them the machinery that both need to behave the same way under test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import math
import queue
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from flask import Flask, Response, request
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

log = logging.getLogger(__name__)

# Shopify documents a 1 s connect / 5 s total budget for webhook deliveries; Woo uses a similar
# short timeout. Receivers under test must acknowledge within it, exactly as in production.
WEBHOOK_TIMEOUT = httpx.Timeout(5.0, connect=1.0)


class _QuietHandler(WSGIRequestHandler):
    """Request handler without werkzeug's per-request access log (noise in test output)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


# serve_forever checks for shutdown() once per poll; socketserver's default (0.5 s) made every
# test that starts and stops a sandbox half a second longer (hundreds of tests).
SHUTDOWN_POLL_SECONDS = 0.05


def serve(
    app: Flask, host: str = "127.0.0.1", port: int = 0, access_log: bool = False
) -> tuple[BaseWSGIServer, threading.Thread]:
    """Start `app` on a threaded werkzeug server in a daemon thread.

    Port 0 binds a free port; read it from `server.server_port`. Stop with `server.shutdown()`.
    Threaded, because connectors call the sandbox concurrently and webhook receivers may call back.
    """
    handler = WSGIRequestHandler if access_log else _QuietHandler
    server = make_server(host, port, app, threaded=True, request_handler=handler)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
        name=f"sandbox-{server.server_port}",
        daemon=True,
    )
    thread.start()
    return server, thread


def utcnow() -> datetime:
    """Current UTC time; one place so every timestamp in a sandbox uses the same clock."""
    return datetime.now(UTC)


def iso_z(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z` suffix, the form Shopify's GraphQL DateTime uses."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def json_response(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """Serialise `payload` compactly; both vendors answer with compact JSON."""
    response = Response(
        json.dumps(payload, separators=(",", ":")), status=status, mimetype="application/json"
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def b64_hmac_sha256(secret: str, body: bytes) -> str:
    """base64(HMAC-SHA256(secret, body)): the webhook signature of both Shopify and WooCommerce."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def encode_cursor(*key: Any) -> str:
    """Opaque cursor over a sort key; clients must treat it as a blob, as with the real APIs."""
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any] | None:
    """Inverse of `encode_cursor`; None for anything that is not one of ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, list) else None


@dataclass
class Fault:
    """One armed fault: the next `remaining` API calls answer `status` (optionally with Retry-After)."""

    status: int
    remaining: int
    retry_after: float | None = None
    operation: str | None = None
    # "fault" (armed), "throttle" (over the request rate) or "hang" (answered after a hang).
    kind: str = "fault"


class FaultInjector:
    """What the API answers besides the normal response, to exercise connectors' retries, deadlines
    and health logic: the next N calls fail with a status; every call hangs (no answer until the
    hang is cleared or `max_hang` passed); calls above N per second are answered 429 + Retry-After.

    Control and OAuth endpoints never consult it, so a test can always reset or inspect the sandbox.
    """

    # A hung call gives up after this long even if nobody clears the hang (a test that forgot).
    max_hang = 120.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._fault: Fault | None = None
        self._hang: str | None = None  # None: no hang; "": every operation; else one operation
        self._released = threading.Event()
        self._released.set()
        self._rate: float = 0.0  # requests per second admitted; 0 = unlimited
        self._next_slot = 0.0

    def arm(self, status: int, count: int, retry_after: float | None, operation: str | None) -> None:
        with self._lock:
            self._fault = Fault(status, count, retry_after, operation) if status and count > 0 else None
            if not status:
                self._release_hang_locked()

    def hang(self, operation: str | None) -> None:
        """Every API call (of `operation`, when given) waits without an answer until cleared."""
        with self._lock:
            self._hang = operation or ""
            self._released.clear()

    def throttle(self, requests_per_second: float) -> None:
        """Admit at most this many API calls per second (evenly spaced); 0 lifts the limit."""
        with self._lock:
            self._rate = max(0.0, float(requests_per_second))
            self._next_slot = 0.0

    def clear(self) -> None:
        with self._lock:
            self._fault = None
            self._rate = 0.0
            self._release_hang_locked()

    def _release_hang_locked(self) -> None:
        self._hang = None
        self._released.set()

    def take(self, operations: Iterable[str]) -> Fault | None:
        """What to answer instead of the call to `operations`, if anything: waits first while a
        matching hang is on (then 504: the client gave up long ago), then the rate limit (429 with
        the seconds to the next free slot), then one armed fault whose filter matches."""
        names = set(operations)
        with self._lock:
            hang = self._hang
        if hang is not None and (not hang or hang in names):
            self._released.wait(self.max_hang)
            return Fault(504, 1, None, None, kind="hang")
        with self._lock:
            if self._rate > 0:
                now = self._clock()
                interval = 1.0 / self._rate
                if now < self._next_slot:
                    return Fault(429, 1, float(math.ceil(self._next_slot - now)), None, kind="throttle")
                self._next_slot = now + interval
            fault = self._fault
            if fault is None or (fault.operation and fault.operation not in names):
                return None
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._fault = None
            return Fault(fault.status, 1, fault.retry_after, fault.operation)

    def describe(self) -> dict[str, Any]:
        with self._lock:
            fault = self._fault
            state: dict[str, Any] = {"status": 0, "count": 0}
            if fault is not None:
                state = {
                    "status": fault.status,
                    "count": fault.remaining,
                    "retry_after": fault.retry_after,
                    "operation": fault.operation,
                }
            # Shown only while on, so an idle injector reads {"status": 0, "count": 0}.
            if self._hang is not None:
                state["hang"] = True
                state["hang_operation"] = self._hang or None
            if self._rate:
                state["requests_per_second"] = self._rate
            return state


class CallStats:
    """Counts API calls per operation so tests and the benchmark can compare calls made vs needed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reset_locked()

    def _reset_locked(self) -> None:
        self.total = 0
        self.by_operation: Counter[str] = Counter()
        self.throttled = 0
        self.faulted = 0
        self.unauthorized = 0

    def reset(self) -> None:
        with self._lock:
            self._reset_locked()

    def record(self, operations: Iterable[str]) -> None:
        """One HTTP request; a GraphQL document with several root fields counts each of them."""
        with self._lock:
            self.total += 1
            for operation in operations:
                self.by_operation[operation] += 1

    def bump(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": self.total,
                "by_operation": dict(self.by_operation),
                "throttled": self.throttled,
                "faulted": self.faulted,
                "unauthorized": self.unauthorized,
            }


@dataclass
class Delivery:
    """One webhook delivery: the exact bytes and headers, kept so a redelivery is byte-identical."""

    delivery_id: str
    subscription_id: int
    topic: str
    address: str
    body: bytes
    headers: dict[str, str]
    content_type: str = "application/json"
    attempts: list[dict[str, Any]] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)

    def describe(self) -> dict[str, Any]:
        last = self.attempts[-1] if self.attempts else None
        return {
            "delivery_id": self.delivery_id,
            "subscription_id": self.subscription_id,
            "topic": self.topic,
            "address": self.address,
            "attempts": len(self.attempts),
            "status": last["status"] if last else None,
            "error": last["error"] if last else None,
            "delivered": bool(last and last["status"] is not None and 200 <= last["status"] < 300),
        }


class WebhookDispatcher:
    """Delivers webhooks from a background thread, outside the sandbox's state lock.

    Deliveries triggered by API calls are asynchronous like the real vendors' (a slow receiver never
    slows a connector's push); control endpoints wait for the deliveries they caused so tests stay
    deterministic without sleeping.
    """

    def __init__(self, user_agent: str) -> None:
        self._queue: queue.Queue[Delivery] = queue.Queue()
        self._lock = threading.Lock()
        self._deliveries: dict[str, Delivery] = {}
        self._order: list[str] = []
        self._user_agent = user_agent
        self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
        self._thread.start()

    def new_id(self) -> str:
        return str(uuid.uuid4())

    def enqueue(self, delivery: Delivery) -> Delivery:
        with self._lock:
            self._deliveries[delivery.delivery_id] = delivery
            self._order.append(delivery.delivery_id)
        self._queue.put(delivery)
        return delivery

    def redeliver(self, delivery_id: str) -> Delivery | None:
        """Send a recorded delivery again with the same id, body and signature (a vendor retry)."""
        with self._lock:
            original = self._deliveries.get(delivery_id)
            if original is None:
                return None
            original.done = threading.Event()
        self._queue.put(original)
        return original

    def get(self, delivery_id: str) -> Delivery | None:
        with self._lock:
            return self._deliveries.get(delivery_id)

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self._deliveries[d].describe() for d in self._order]

    def clear(self) -> None:
        with self._lock:
            self._deliveries.clear()
            self._order.clear()

    def wait(self, deliveries: Iterable[Delivery], timeout: float = 10.0) -> None:
        for delivery in deliveries:
            delivery.done.wait(timeout)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until everything queued so far has been attempted (for tests that need a barrier)."""
        with self._lock:
            pending = list(self._deliveries.values())
        return all(d.done.wait(timeout) for d in pending)

    def _run(self) -> None:
        with httpx.Client(timeout=WEBHOOK_TIMEOUT, follow_redirects=False) as client:
            while True:
                delivery = self._queue.get()
                self._attempt(client, delivery)

    def _attempt(self, client: httpx.Client, delivery: Delivery) -> None:
        headers = {"Content-Type": delivery.content_type, "User-Agent": self._user_agent, **delivery.headers}
        status: int | None = None
        error: str | None = None
        try:
            status = client.post(delivery.address, content=delivery.body, headers=headers).status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.info("sandbox webhook %s to %s failed: %s", delivery.topic, delivery.address, error)
        with self._lock:
            delivery.attempts.append({"status": status, "error": error, "at": iso_z(utcnow())})
        delivery.done.set()


@dataclass(frozen=True)
class FaultRequest:
    """A validated `POST /_sandbox/faults` body."""

    status: int = 0
    count: int = 1
    retry_after: float | None = None
    operation: str | None = None
    hang: bool = False
    requests_per_second: float | None = None

    def apply(self, faults: FaultInjector) -> None:
        """`{"status": 0}` alone clears everything; otherwise each given part is set."""
        if not self.status and not self.hang and self.requests_per_second is None:
            faults.clear()
            return
        if self.requests_per_second is not None:
            faults.throttle(self.requests_per_second)
        if self.hang:
            faults.hang(self.operation)
        else:
            faults.arm(self.status, self.count, self.retry_after, self.operation)


def parse_fault_request(body: Mapping[str, Any]) -> FaultRequest | str:
    """Validate a `/_sandbox/faults` body; returns the request or an error message."""
    status = body.get("status", 0)
    if not isinstance(status, int) or (status != 0 and not 400 <= status <= 599):
        return "status must be 0 (clear) or an HTTP error status 400-599"
    count = body.get("count", 1)
    if not isinstance(count, int) or count < 0:
        return "count must be a non-negative integer"
    retry_after = body.get("retry_after")
    if retry_after is not None and (not isinstance(retry_after, int | float) or retry_after < 0):
        return "retry_after must be a non-negative number of seconds"
    operation = body.get("operation")
    if operation is not None and not isinstance(operation, str):
        return "operation must be a string"
    hang = body.get("hang", False)
    if not isinstance(hang, bool):
        return "hang must be true or false"
    rate = body.get("requests_per_second")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int | float) or rate < 0):
        return "requests_per_second must be a non-negative number (0 lifts the limit)"
    if hang and status:
        return "hang and status are exclusive: a hung call answers nothing"
    return FaultRequest(status, count, retry_after, operation, hang, None if rate is None else float(rate))


def format_retry_after(seconds: float) -> str:
    """Retry-After as the vendors send it: integral seconds print without a fraction."""
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


def json_body() -> dict[str, Any]:
    """The request's JSON object, or {} for anything else (control routes take JSON objects)."""
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def run_until_interrupted(
    app: Flask, host: str, port: int, log_name: str, banner: Callable[[int], str]
) -> None:
    """`python -m channel_sandboxes.<vendor>`: serve with an access log until Ctrl-C."""
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {log_name} %(levelname)s %(message)s")
    server, thread = serve(app, host, port, access_log=True)
    logging.getLogger(log_name).info(banner(server.server_port))
    try:
        thread.join()
    except KeyboardInterrupt:
        server.shutdown()
