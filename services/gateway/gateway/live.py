"""Live updates in the gateway: stream tickets, the per-process cap on streams, and the
server-sent-events stream of one tenant's notices (docs/decisions/0012-live-updates.md).

- A browser's EventSource cannot send an Authorization header, and the long-lived access token must
  never travel in a URL (logs, history, Referer). So `POST /events/ticket` (with the bearer token)
  stores a random ticket in Redis for a few seconds; `GET /events?ticket=...` takes it with GETDEL:
  it opens one stream, once, on any replica.
- A stream holds one of the gunicorn process's threads for its whole life: at most `max_streams`
  are open per process (the others answer 503 with Retry-After and the dashboard polls), and each
  ends after `max_seconds` with a `bye` event, after which the dashboard asks for a new ticket.
- The stream subscribes to the tenant's Redis channel (gateway.live_notices) and writes each
  notice as `event: <topic>` / `data: <json>`, and a comment line every `heartbeat_seconds` so a
  proxy keeps the connection and a gone client is noticed at the next write.

Flask-free: gateway.routes.live is the HTTP edge.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import redis

from gateway.live_notices import BadNotice, Notice, channel, valid_tenant

log = logging.getLogger(__name__)

_TICKET_PREFIX = "omnistock:gateway:live-ticket:"
# What the browser waits before it reconnects by itself after a dropped connection (ms).
RECONNECT_MS = 3000
# Longest wait for one pub/sub message: bounds how late a heartbeat or the end can be.
_POLL_SECONDS = 1.0
# Tickets are 32 random bytes, URL-safe: this is the longest a well-formed one can be.
MAX_TICKET_CHARS = 64


@dataclass(frozen=True)
class TicketHolder:
    """Who a ticket was issued to: the stream is that tenant's."""

    tenant_id: str
    user_id: str


class TicketStore:
    """One-time tickets in Redis, shared by every gateway replica; only a hash is stored."""

    def __init__(self, client: redis.Redis, ttl_seconds: int) -> None:
        self._redis = client
        self.ttl_seconds = ttl_seconds

    @staticmethod
    def _key(ticket: str) -> str:
        return _TICKET_PREFIX + hashlib.sha256(ticket.encode()).hexdigest()

    def issue(self, holder: TicketHolder) -> str:
        ticket = secrets.token_urlsafe(32)
        value = json.dumps({"tenant_id": holder.tenant_id, "user_id": holder.user_id})
        self._redis.set(self._key(ticket), value, ex=self.ttl_seconds)
        return ticket

    def redeem(self, ticket: str) -> TicketHolder | None:
        """The ticket's holder, once: GETDEL makes a second use (or a race of two) find nothing."""
        if not ticket or len(ticket) > MAX_TICKET_CHARS:
            return None
        raw = self._redis.getdel(self._key(ticket))
        if raw is None:
            return None
        try:
            value = json.loads(raw)
            holder = TicketHolder(str(value["tenant_id"]), str(value["user_id"]))
        except (ValueError, KeyError, TypeError):
            return None
        return holder if valid_tenant(holder.tenant_id) else None


class StreamSlots:
    """The open streams of this process, at most `limit`: a slot is taken before the stream starts
    and given back exactly once when the response is closed."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open = 0
        self._lock = threading.Lock()

    @property
    def open(self) -> int:
        return self._open

    def acquire(self) -> Callable[[], None] | None:
        """A release function, or None when every slot is taken."""
        with self._lock:
            if self._open >= self.limit:
                return None
            self._open += 1
        released = threading.Event()

        def release() -> None:
            with self._lock:
                if not released.is_set():
                    released.set()
                    self._open -= 1

        return release


class PubSub(Protocol):
    """What the stream uses of redis-py's PubSub (tests hand in the real one)."""

    def get_message(self, ignore_subscribe_messages: bool = False, timeout: float = 0.0) -> Any: ...

    def close(self) -> None: ...


def sse_event(topic: str, data: dict[str, Any]) -> bytes:
    return f"event: {topic}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


@dataclass
class StreamTiming:
    max_seconds: float
    heartbeat_seconds: float
    clock: Callable[[], float] = time.monotonic


def peer_closed(sock: socket.socket | None) -> Callable[[], bool]:
    """Whether the client has closed its end of `sock` (readable with nothing to read), so a
    stream frees its slot within a second of a tab closing or navigating away instead of at its
    next heartbeat write. Without the socket (a test client) it never says so."""

    def gone() -> bool:
        if sock is None:
            return False
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):  # reset, or already closed (fileno -1)
            return True

    return gone


def event_stream(
    pubsub: PubSub, timing: StreamTiming, client_gone: Callable[[], bool] = lambda: False
) -> Iterator[bytes]:
    """The SSE body: a `retry` hint, then each notice as it arrives, a heartbeat comment whenever
    nothing was written for heartbeat_seconds, and `event: bye` at max_seconds. Ends as soon as
    `client_gone` says the client left (checked at least every second)."""
    started = last_write = timing.clock()
    yield f"retry: {RECONNECT_MS}\n: connected\n\n".encode()
    while True:
        if client_gone():
            return
        now = timing.clock()
        if now - started >= timing.max_seconds:
            yield sse_event("bye", {"reason": "max-duration"})
            return
        if now - last_write >= timing.heartbeat_seconds:
            yield b": keep-alive\n\n"
            last_write = now
            continue
        wait = min(
            _POLL_SECONDS,
            timing.heartbeat_seconds - (now - last_write),
            timing.max_seconds - (now - started),
        )
        try:
            message = pubsub.get_message(ignore_subscribe_messages=True, timeout=max(0.0, wait))
        except redis.RedisError as exc:
            # Redis went away: end the stream; the browser polls and asks for a new one later.
            log.warning("live stream ended: redis unavailable (%s)", type(exc).__name__)
            return
        if not message or message.get("type") != "message":
            continue
        try:
            notice = Notice.parse(message["data"])
        except BadNotice:
            log.warning("dropped a malformed live notice")
            continue
        yield sse_event(notice.topic, notice.data())
        last_write = timing.clock()


@dataclass
class LiveHub:
    """What the /events routes use: tickets, this process's stream slots and the Redis client."""

    redis: redis.Redis
    tickets: TicketStore
    slots: StreamSlots
    max_seconds: float
    heartbeat_seconds: float
    clock: Callable[[], float] = field(default=time.monotonic)

    def subscribe(self, tenant_id: str) -> Any:
        """A pub/sub connection subscribed to the tenant's channel, before the response starts,
        so nothing published after the 200 is missed."""
        pubsub = self.redis.pubsub()
        try:
            pubsub.subscribe(channel(tenant_id))
        except Exception:
            pubsub.close()
            raise
        return pubsub

    def timing(self) -> StreamTiming:
        return StreamTiming(self.max_seconds, self.heartbeat_seconds, self.clock)


def build_hub(
    redis_url: str, *, ticket_seconds: int, max_streams: int, max_seconds: float, heartbeat_seconds: float
) -> LiveHub:
    """The gateway's hub. Its own Redis client: a stream's pub/sub connection waits up to
    _POLL_SECONDS for a message, longer than the API client's socket timeout allows."""
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=2.0, socket_timeout=_POLL_SECONDS + 5.0)
    return LiveHub(
        redis=client,
        tickets=TicketStore(client, ticket_seconds),
        slots=StreamSlots(max_streams),
        max_seconds=max_seconds,
        heartbeat_seconds=heartbeat_seconds,
    )
