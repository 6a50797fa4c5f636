"""`with_connection`: the one way to call a connector about an existing connection.

For every call it:
1. loads the connection, refuses a disconnected one, decrypts the credentials (only now);
2. refreshes proactively when the access token expires within the skew (5 min by default);
3. calls `fn(stub, connection_context)`; on UNAUTHENTICATED + ErrorInfo ACCESS_TOKEN_EXPIRED it
   refreshes and retries the call ONCE; on any other UNAUTHENTICATED (CREDENTIALS_REVOKED...) the
   connection becomes DISCONNECTED with a clear reason;
4. persists `refreshed_credentials` a response may carry;
5. writes a sync_log row and updates health (error streak, status), and raises a notification
   when the status gets worse; on success it tells the `success_listeners` (the sync engine ends
   the connection's backoff there: a recovered channel gets its pending figures at once).

Refresh is single-flight across every replica: a Redis lock `omnistock:refresh:<connection_id>`
(SET NX PX, released only by its holder's token). The holder re-reads the row: if the
credentials version moved since the caller read it, someone else already refreshed and the new
credentials are simply used. Otherwise it calls RefreshCredentials and saves the rotated pair
with a conditional UPDATE on the version. Callers that find the lock taken wait for it to go
away and then use whatever the winner stored.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

import grpc

from channels import mapping
from channels.connector_clients import (
    ConnectorFailure,
    ConnectorRegistry,
    ConnectorStub,
    connection_context,
    credentials_from_pb,
    failure_of,
    to_domain_error,
)
from channels.crypto import KeyRing
from channels.domain import (
    CHANNEL_TYPES,
    ChannelUnavailable,
    Connection,
    ConnectionStatus,
    Credentials,
    Health,
    SyncOutcome,
    after_failure,
    after_success,
    clean_channel_limits,
    disconnected,
    got_worse,
    needs_proactive_refresh,
)
from channels.notify import Notifier, SyncAlert
from channels.repository import Repository, StoredConnection, UnitOfWork
from omnistock_common.context import CallContext
from omnistock_common.egress import safe_text
from omnistock_common.errors import FailedPrecondition, NotFound
from omnistock_common.logging import request_id_var

log = logging.getLogger(__name__)
R = TypeVar("R")

REFRESH_LOCK_PREFIX = "omnistock:refresh:"
# Compare-and-delete: only the holder's token releases the lock (a holder that outlived its TTL
# must not delete the lock the next holder took).
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
# Codes with which a failed refresh means "the grant is dead" rather than "try again later".
_REFRESH_FATAL = {
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.PERMISSION_DENIED,
}


class RedisLike(Protocol):
    def set(self, name: str, value: str, *, nx: bool = ..., px: int | None = ...) -> Any: ...
    def exists(self, *names: str) -> int: ...
    def eval(self, script: str, numkeys: int, *keys_and_args: str) -> Any: ...


@dataclass(frozen=True)
class SyncLogRecord:
    """How a successful call goes into the sync log (callers may refine the default)."""

    outcome: str = SyncOutcome.OK.value
    message: str = ""
    calls: int | None = None
    # The channel's quotas the reply reported (cleaned), for the connection's health; None: none.
    limits: Mapping[str, str] | None = None


def _default_record(result: Any) -> SyncLogRecord:
    calls = getattr(result, "calls", None)
    return SyncLogRecord(
        message=retried_note(result),
        calls=int(calls) if isinstance(calls, int) and calls > 0 else None,
        limits=reported_limits(result),
    )


def reported_limits(result: Any) -> dict[str, str] | None:
    """The channel quotas a push reply reports (connector.v1 `limits`), cleaned; None if none."""
    return clean_channel_limits(getattr(result, "limits", None) or {}) or None


def retried_note(result: Any) -> str:
    """ "after retrying: HTTP 500 (x3), HTTP 429 (Retry-After 1s)" when the connector says it
    retried (PushInventory/FetchOrders `retried`), else ""."""
    retried = [str(r) for r in getattr(result, "retried", ()) or ()]
    if not retried:
        return ""
    folded: list[str] = []
    count = 0
    for index, error in enumerate(retried):
        count += 1
        if index + 1 == len(retried) or retried[index + 1] != error:
            folded.append(error if count == 1 else f"{error} (x{count})")
            count = 0
    return "after retrying: " + ", ".join(folded)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ConnectionCaller:
    """Runs connector calls for connections; safe to share between threads (no per-call state)."""

    def __init__(
        self,
        uow: UnitOfWork,
        keyring: KeyRing,
        connectors: ConnectorRegistry,
        redis: RedisLike,
        notifier: Notifier | None,
        *,
        refresh_skew: timedelta = timedelta(minutes=5),
        lock_ttl_ms: int = 30_000,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.uow = uow
        self.keyring = keyring
        self.connectors = connectors
        self.redis = redis
        self.notifier = notifier
        self.refresh_skew = refresh_skew
        self.lock_ttl_ms = lock_ttl_ms
        self.clock = clock
        # Called with (tenant_id, connection_id) after every call the channel answered.
        self.success_listeners: list[Callable[[str, str], None]] = []

    # ------------------------------------------------------------------ public
    def with_connection(
        self,
        tenant_id: str,
        connection_id: str,
        operation: str,
        fn: Callable[[ConnectorStub, mapping.ConnectionContext], R],
        *,
        skus: Sequence[str] = (),
        describe: Callable[[R], SyncLogRecord] = _default_record,
    ) -> R:
        """Call `fn(stub, ctx)` for the connection with fresh, decrypted credentials.

        Raises NotFound (no such connection for this tenant), FailedPrecondition (disconnected,
        or the channel refused the credentials), or the connector's failure as a DomainError
        (ChannelUnavailable, ChannelRateLimited with RetryInfo, InvalidArgument...).
        """
        stored = self.load(tenant_id, connection_id)
        self._refuse_if_disconnected(stored.connection)
        creds = self.decrypt(stored)
        if needs_proactive_refresh(
            stored.connection.token_expires_at or creds.access_token_expires_at,
            self.clock(),
            self.refresh_skew,
            has_refresh_token=bool(creds.secrets.get("refresh_token")),
        ):
            stored, creds = self._refresh(stored, seen_version=stored.connection.credentials_version)
        for attempt in (1, 2):
            conn = stored.connection
            started = time.perf_counter()
            try:
                result = fn(self._stub(conn), self._context(conn, creds))
            except grpc.RpcError as err:
                failure = failure_of(err)
                latency = _ms(started)
                if failure.token_expired and attempt == 1:
                    self._log(
                        conn,
                        operation,
                        skus,
                        SyncOutcome.RETRY,
                        "access token expired; refreshing",
                        latency,
                        1,
                    )
                    stored, creds = self._refresh(stored, seen_version=conn.credentials_version)
                    continue
                if failure.code is grpc.StatusCode.UNAUTHENTICATED:
                    reason = _dead_credentials_reason(conn.type, failure)
                    self._disconnect(conn, operation, skus, reason, latency)
                    raise FailedPrecondition(
                        reason, reason=failure.reason or "CREDENTIALS_REJECTED"
                    ) from None
                self._record_failure(conn, operation, skus, failure, latency)
                raise to_domain_error(failure, _label(conn.type)) from None
            self._save_refreshed(stored, result)
            record = describe(result)
            self._record_success(conn, operation, skus, record, _ms(started))
            self._tell_success(conn)
            return result
        raise AssertionError("unreachable: the second attempt returns or raises")

    def load(self, tenant_id: str, connection_id: str) -> StoredConnection:
        with self.uow.transaction() as repo:
            stored = repo.get_connection(tenant_id, connection_id)
        if stored is None:
            raise NotFound("connection not found")
        return stored

    def decrypt(self, stored: StoredConnection) -> Credentials:
        conn = stored.connection
        raw = self.keyring.decrypt(stored.credentials_blob, tenant_id=conn.tenant_id, connection_id=conn.id)
        return Credentials.from_bytes(raw)

    def encrypt(self, conn: Connection, creds: Credentials) -> bytes:
        return self.keyring.encrypt(creds.to_bytes(), tenant_id=conn.tenant_id, connection_id=conn.id)

    # ------------------------------------------------------------------ refresh (single-flight)
    def _refresh(
        self, stored: StoredConnection, *, seen_version: int
    ) -> tuple[StoredConnection, Credentials]:
        conn = stored.connection
        key = REFRESH_LOCK_PREFIX + conn.id
        give_up = time.monotonic() + self.lock_ttl_ms / 1000 * 2
        while True:
            token = secrets.token_hex(16)
            if self.redis.set(key, token, nx=True, px=self.lock_ttl_ms):
                try:
                    return self._refresh_holding_lock(conn.tenant_id, conn.id, seen_version)
                finally:
                    self.redis.eval(_RELEASE, 1, key, token)
            # Someone else is refreshing: wait for their lock to go, then use what they stored.
            while self.redis.exists(key) and time.monotonic() < give_up:
                time.sleep(0.02)
            fresh = self.load(conn.tenant_id, conn.id)
            self._refuse_if_disconnected(fresh.connection)
            if fresh.connection.credentials_version != seen_version:
                return fresh, self.decrypt(fresh)
            if time.monotonic() >= give_up:
                raise ChannelUnavailable(
                    f"{_label(conn.type)}: timed out waiting for another token refresh", reason="REFRESH_BUSY"
                )
            # The other refresh failed transiently (or its lock expired): take our own turn.

    def _refresh_holding_lock(
        self, tenant_id: str, connection_id: str, seen_version: int
    ) -> tuple[StoredConnection, Credentials]:
        fresh = self.load(tenant_id, connection_id)
        conn = fresh.connection
        self._refuse_if_disconnected(conn)
        if conn.credentials_version != seen_version:
            return fresh, self.decrypt(fresh)
        old = self.decrypt(fresh)
        started = time.perf_counter()
        try:
            response = self._stub(conn).RefreshCredentials(
                mapping.refresh_credentials_request(self._context(conn, old))
            )
        except grpc.RpcError as err:
            failure = failure_of(err)
            if failure.code in _REFRESH_FATAL:
                reason = (
                    f"{_label(conn.type)} refused to refresh the access token "
                    f"({safe_text(failure.message)}); reconnect the channel"
                )
                self._disconnect(conn, "refresh_token", (), reason, _ms(started))
                raise FailedPrecondition(reason, reason=failure.reason or "REFRESH_FAILED") from None
            self._record_failure(conn, "refresh_token", (), failure, _ms(started))
            raise to_domain_error(failure, _label(conn.type)) from None
        new = _merge(old, credentials_from_pb(response.credentials))
        now = self.clock()
        blob = self.encrypt(conn, new)

        def save(repo: Repository) -> bool:
            won = repo.replace_credentials(
                tenant_id,
                connection_id,
                expected_version=seen_version,
                blob=blob,
                token_expires_at=new.access_token_expires_at,
                now=now,
            )
            repo.add_sync_log(
                tenant_id,
                connection_id,
                at=now,
                operation="refresh_token",
                skus=(),
                outcome=SyncOutcome.OK.value if won else SyncOutcome.CONFLICT.value,
                message="" if won else "credentials changed during the refresh; kept the newer ones",
                latency_ms=_ms(started),
                calls=1,
            )
            return won

        if not self.uow.run(save):
            log.warning("refresh of connection %s lost a race; using the stored credentials", connection_id)
        stored = self.load(tenant_id, connection_id)
        return stored, self.decrypt(stored)

    def _save_refreshed(self, stored: StoredConnection, result: Any) -> None:
        """A response may carry credentials the connector refreshed; store them before reuse."""
        descriptor = getattr(result, "DESCRIPTOR", None)
        if descriptor is None or "refreshed_credentials" not in descriptor.fields_by_name:
            return
        if not result.HasField("refreshed_credentials") or not result.refreshed_credentials.secrets:
            return
        conn = stored.connection
        new = _merge(self.decrypt(stored), credentials_from_pb(result.refreshed_credentials))
        blob = self.encrypt(conn, new)
        now = self.clock()
        won = self.uow.run(
            lambda repo: repo.replace_credentials(
                conn.tenant_id,
                conn.id,
                expected_version=conn.credentials_version,
                blob=blob,
                token_expires_at=new.access_token_expires_at,
                now=now,
            )
        )
        if not won:
            log.warning("connection %s: refreshed credentials arrived after a newer refresh", conn.id)

    # ------------------------------------------------------------------ health + sync log
    def _record_success(
        self, conn: Connection, operation: str, skus: Sequence[str], record: SyncLogRecord, latency: int
    ) -> None:
        now = self.clock()

        def work(repo: Repository) -> None:
            current = repo.get_connection(conn.tenant_id, conn.id, lock=True)
            if current is None:
                return
            repo.change_health(current.connection, after_success(current.connection.health, now), now)
            if record.limits:
                repo.set_channel_limits(conn.tenant_id, conn.id, record.limits, now)
            repo.add_sync_log(
                conn.tenant_id,
                conn.id,
                at=now,
                operation=operation,
                skus=skus,
                outcome=record.outcome,
                message=record.message,
                latency_ms=latency,
                calls=record.calls if record.calls is not None else 1,
            )

        self.uow.run(work)

    def _record_failure(
        self, conn: Connection, operation: str, skus: Sequence[str], failure: ConnectorFailure, latency: int
    ) -> None:
        message = f"{failure.code.name}: {safe_text(failure.message, 500)}"
        self._change_health(
            conn, operation, skus, latency, message, lambda h, now: after_failure(h, now, message)
        )

    def _disconnect(
        self, conn: Connection, operation: str, skus: Sequence[str], reason: str, latency: int
    ) -> None:
        self._change_health(
            conn, operation, skus, latency, reason, lambda h, now: disconnected(h, now, reason)
        )

    def _change_health(
        self,
        conn: Connection,
        operation: str,
        skus: Sequence[str],
        latency: int,
        message: str,
        transition: Callable[[Health, datetime], Health],
    ) -> None:
        now = self.clock()

        # The sync log shows this to the tenant: cleaned and bounded like health.last_error.
        message = safe_text(message, 2000)

        def work(repo: Repository) -> tuple[Health, Health] | None:
            current = repo.get_connection(conn.tenant_id, conn.id, lock=True)
            if current is None:
                return None
            before = current.connection.health
            after = transition(before, now)
            repo.change_health(current.connection, after, now)
            repo.add_sync_log(
                conn.tenant_id,
                conn.id,
                at=now,
                operation=operation,
                skus=skus,
                outcome=SyncOutcome.ERROR.value,
                message=message,
                latency_ms=latency,
                calls=1,
            )
            return before, after

        change = self.uow.run(work)
        if change is not None and self.notifier is not None and got_worse(change[0].status, change[1].status):
            before, after = change
            self.notifier.notify(
                SyncAlert(
                    tenant_id=conn.tenant_id,
                    connection_id=conn.id,
                    channel_type=conn.type,
                    connection_name=conn.name,
                    status=after.status.value,
                    previous_status=before.status.value,
                    operation=operation,
                    error=message,
                    error_count=after.error_count,
                    at=now,
                )
            )

    def _log(
        self,
        conn: Connection,
        operation: str,
        skus: Sequence[str],
        outcome: SyncOutcome,
        message: str,
        latency: int,
        calls: int,
    ) -> None:
        now = self.clock()
        self.uow.run(
            lambda repo: repo.add_sync_log(
                conn.tenant_id,
                conn.id,
                at=now,
                operation=operation,
                skus=skus,
                outcome=outcome.value,
                message=message,
                latency_ms=latency,
                calls=calls,
            )
        )

    def _tell_success(self, conn: Connection) -> None:
        for listener in list(self.success_listeners):
            try:
                listener(conn.tenant_id, conn.id)
            except Exception:  # a listener's failure must not turn the channel's answer into one
                log.exception("success listener failed for connection %s", conn.id)

    # ------------------------------------------------------------------ helpers
    def _stub(self, conn: Connection) -> ConnectorStub:
        return self.connectors.get(conn.type).call(
            CallContext(tenant_id=conn.tenant_id, request_id=request_id_var.get())
        )

    @staticmethod
    def _context(conn: Connection, creds: Credentials) -> mapping.ConnectionContext:
        return connection_context(
            connection_id=conn.id,
            tenant_id=conn.tenant_id,
            channel_type=conn.type,
            settings=conn.settings,
            credentials=creds,
        )

    @staticmethod
    def _refuse_if_disconnected(conn: Connection) -> None:
        if conn.status is ConnectionStatus.DISCONNECTED:
            raise FailedPrecondition(
                f"the {_label(conn.type)} connection {conn.name!r} is disconnected "
                f"({conn.health.status_reason or 'credentials no longer valid'}); reconnect it",
                reason="CONNECTION_DISCONNECTED",
            )


def _merge(old: Credentials, new: Credentials) -> Credentials:
    """Rotated secrets replace old ones; a secret the channel did not reissue (eBay's refresh
    token) is kept."""
    return Credentials(
        secrets={**old.secrets, **new.secrets},
        access_token_expires_at=new.access_token_expires_at,
        refresh_token_expires_at=new.refresh_token_expires_at or old.refresh_token_expires_at,
        scopes=new.scopes or old.scopes,
    )


def _label(channel_type: str) -> str:
    found = CHANNEL_TYPES.get(channel_type)
    return found.display_name if found else channel_type


def _dead_credentials_reason(channel_type: str, failure: ConnectorFailure) -> str:
    detail = safe_text(failure.message)
    if failure.token_expired:
        return f"{_label(channel_type)} still rejects the refreshed access token ({detail}); reconnect"
    return f"{_label(channel_type)} rejected the credentials ({detail}); reconnect the channel"


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


__all__ = ["REFRESH_LOCK_PREFIX", "ConnectionCaller", "SyncLogRecord", "retried_note"]
