"""Sync-failure notifications: a log line, plus a POST to the tenant's outgoing webhook URL.

The POST is best effort and never holds up the caller: it runs on a small background pool with a
short timeout, and a failing receiver only produces a warning.

Threads: in the channels worker, alerts are raised from OS threads (eventlet's tpool, the sync
dispatcher) of a monkey-patched process. A `concurrent.futures` pool there is made of GREEN locks
and green threads: an OS thread cannot wait on them ("Cannot switch to a different thread"), and
the green workers run only when the main hub does. So the pool, its queue and each outcome's event
come from the `threads` module the caller gives: the worker passes eventlet's original threading
(real OS threads and locks), as it does for the sync dispatcher. The payload names the connection
and the error; it never carries credentials.

The URL is the tenant's, so the POST goes through the egress guard
(omnistock_common.egress): https:443 to public addresses only, pinned to the address that
was checked, unless the host:port is on CHANNEL_ALLOWED_HOSTS. Redirects are not followed and
the receiver's answer is never read beyond its status line, so nothing flows back.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from types import ModuleType

import httpx

from channels.thread_pool import ThreadPool
from omnistock_common.egress import EgressPolicy, EgressRefused
from omnistock_common.egress_transport import GuardedTransport

log = logging.getLogger(__name__)

# Alerts waiting for a free poster; beyond this the alert is logged only (a receiver that hangs
# must not grow the queue without bound).
MAX_QUEUED = 1000
CLOSE_WAIT_SECONDS = 5.0


@dataclass(frozen=True)
class SyncAlert:
    tenant_id: str
    connection_id: str
    channel_type: str
    connection_name: str
    status: str
    previous_status: str
    operation: str
    error: str
    error_count: int
    at: datetime

    def payload(self) -> dict[str, object]:
        doc: dict[str, object] = {"event": "channels.sync_failed", **asdict(self)}
        doc["at"] = self.at.isoformat()
        return doc


class Posted:
    """The outcome of one alert's POST: `wait()` is True (accepted), False (not sent or refused),
    or None when it is still pending after `timeout`."""

    def __init__(self, threads: ModuleType) -> None:
        self._done = threads.Event()
        self._ok = False

    def finish(self, ok: bool) -> None:
        self._ok = ok
        self._done.set()

    def wait(self, timeout: float | None = None) -> bool | None:
        return self._ok if self._done.wait(timeout) else None


class Notifier:
    """Logs every alert and posts it to the tenant's URL (looked up lazily) in the background."""

    def __init__(
        self,
        url_for_tenant: Callable[[str], str],
        *,
        timeout: float = 2.0,
        transport: httpx.BaseTransport | None = None,
        max_workers: int = 2,
        egress: EgressPolicy | None = None,
        threads: ModuleType = threading,
    ) -> None:
        self._url_for_tenant = url_for_tenant
        self._threads = threads
        # A caller's own transport (tests) replaces the network unless a policy is given too.
        if transport is None:
            transport = GuardedTransport(egress or EgressPolicy())
        elif egress is not None:
            inner = transport
            transport = GuardedTransport(egress, inner_factory=lambda: inner)
        self._client = httpx.Client(
            timeout=timeout, transport=transport, follow_redirects=False, trust_env=False
        )
        self._pool = ThreadPool(max_workers, threads, name="notify", max_queued=MAX_QUEUED)

    def notify(self, alert: SyncAlert) -> Posted:
        log.warning(
            "channel sync failure: %s connection %s is %s after %s (%s)",
            alert.channel_type,
            alert.connection_id,
            alert.status,
            alert.operation,
            alert.error,
            extra={"tenant": alert.tenant_id, "connection_id": alert.connection_id},
        )
        posted = Posted(self._threads)
        if not self._pool.submit(lambda: posted.finish(self._post(alert))):
            log.warning("notification of tenant %s not sent: too many queued", alert.tenant_id)
            posted.finish(False)
        return posted

    def _post(self, alert: SyncAlert) -> bool:
        try:
            url = self._url_for_tenant(alert.tenant_id)
        except Exception:
            log.warning("could not read the notification URL of tenant %s", alert.tenant_id, exc_info=True)
            return False
        if not url:
            return False
        try:
            # Streamed and closed unread: only the status matters, the body is never buffered.
            with self._client.stream("POST", url, json=alert.payload()) as response:
                status = response.status_code
        except EgressRefused:
            log.warning("notification webhook of tenant %s refused: host not allowed", alert.tenant_id)
            return False
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("notification webhook of tenant %s failed: %s", alert.tenant_id, type(exc).__name__)
            return False
        if status >= 300:
            log.warning("notification webhook of tenant %s answered %s", alert.tenant_id, status)
            return False
        return True

    def close(self) -> None:
        self._pool.close(CLOSE_WAIT_SECONDS * self._pool.size, drain=True)
        self._client.close()
