"""Settings of the sync engine, read from the environment through omnistock_common.config.

The channels service's own settings are read by channels.config; these are the knobs only the
sync worker (and the order polls the server triggers) use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from omnistock_common.config import EnvReader, service_addr

# SYNC_MAX_INCREASE_HOLD_S's value that never releases a hold (increases wait for fresh orders).
STRICT = "strict"
# A hold limit in seconds; None = strict (hold until every connection's orders are current).
HoldLimit = float | None


@dataclass(frozen=True)
class OrderPollSettings:
    """How far back the first poll looks, how much each poll re-reads, how often it may run."""

    first_lookback: timedelta = timedelta(hours=24)
    overlap: timedelta = timedelta(minutes=5)
    min_interval: timedelta = timedelta(seconds=1)


@dataclass(frozen=True)
class SyncSettings:
    """Knobs of the engine; `load_sync_settings` reads them from the environment."""

    # A burst is gathered this long before the first flush of a connection (latency vs calls).
    coalesce_delay: timedelta = timedelta(milliseconds=50)
    # Longer than the slowest flush of one connection (connector deadline x a few chunks).
    lock_ttl: timedelta = timedelta(seconds=120)
    # After a failed push (the connector already retried within its deadline): the connection is
    # due again after base x 2^(n-1), jittered, at most the cap; any successful call to the
    # channel (an order poll, say) lifts the wait at once (flusher.channel_answered).
    backoff_base: timedelta = timedelta(seconds=1)
    backoff_cap: timedelta = timedelta(seconds=15)
    # A disconnected connection keeps its pending set and is looked at again this often.
    disconnected_retry: timedelta = timedelta(minutes=5)
    batch_limit_ttl: timedelta = timedelta(minutes=10)
    flush_limit: int = 200
    polls: OrderPollSettings = field(default_factory=OrderPollSettings)
    reconcile_interval: timedelta = timedelta(minutes=15)
    order_poll_interval: timedelta = timedelta(hours=1)
    inventory_addr: str = "127.0.0.1:50052"
    inventory_timeout: timedelta = timedelta(seconds=10)
    # How long increases on the other connections may wait for a connection whose orders are not
    # known current (poll failing or slow): seconds, or None = strict (until fresh); 0 = never.
    max_increase_hold: HoldLimit = 30.0
    # Per-tenant overrides of max_increase_hold.
    increase_hold_by_tenant: Mapping[str, HoldLimit] = field(default_factory=dict)
    # Connections flushed (and order feeds polled) at once per worker process, each on its own
    # thread with its own deadline; further due connections wait for a free thread.
    parallel_connections: int = 16

    def max_hold_for(self, tenant_id: str) -> HoldLimit:
        """The tenant's SYNC_MAX_INCREASE_HOLD_S (override or default)."""
        return self.increase_hold_by_tenant.get(tenant_id, self.max_increase_hold)


def parse_hold(raw: str) -> HoldLimit:
    """ "strict" -> None; a non-negative number of seconds -> float; ValueError otherwise."""
    text = raw.strip().lower()
    if text == STRICT:
        return None
    value = float(text)
    if not value >= 0 or value == float("inf"):
        raise ValueError(raw)
    return value


def _hold_setting(env: EnvReader, name: str, default: HoldLimit) -> HoldLimit:
    raw = env.str(name, "")
    if not raw:
        return default
    try:
        return parse_hold(raw)
    except ValueError:
        env.problems.append(f"{name}={raw!r} is neither a number of seconds >= 0 nor {STRICT!r}")
        return default


def _hold_overrides(env: EnvReader, name: str) -> dict[str, HoldLimit]:
    """`tenant=seconds|strict` pairs, comma-separated."""
    found: dict[str, HoldLimit] = {}
    for part in filter(None, (p.strip() for p in env.str(name, "").split(","))):
        tenant, sep, value = part.partition("=")
        try:
            if not sep or not tenant.strip():
                raise ValueError(part)
            found[tenant.strip()] = parse_hold(value)
        except ValueError:
            env.problems.append(f"{name}: {part!r} is not tenant=seconds or tenant={STRICT}")
    return found


def load_sync_settings(environ: Mapping[str, str] | None = None) -> SyncSettings:
    """The sync engine's own variables (the service's are read by channels.config)."""
    env = EnvReader(environ)
    settings = SyncSettings(
        reconcile_interval=timedelta(
            seconds=env.float("CHANNELS_RECONCILE_INTERVAL_SECONDS", 900.0, minimum=1.0)
        ),
        order_poll_interval=timedelta(
            seconds=env.float("CHANNELS_ORDER_POLL_INTERVAL_SECONDS", 3600.0, minimum=1.0)
        ),
        coalesce_delay=timedelta(
            milliseconds=env.int("CHANNELS_SYNC_COALESCE_MS", 50, minimum=0, maximum=60000)
        ),
        polls=OrderPollSettings(
            first_lookback=timedelta(hours=env.float("CHANNELS_ORDER_LOOKBACK_HOURS", 24.0, minimum=0.0)),
            overlap=timedelta(seconds=env.float("CHANNELS_ORDER_POLL_OVERLAP_SECONDS", 300.0, minimum=0.0)),
        ),
        inventory_addr=service_addr(env, "inventory"),
        max_increase_hold=_hold_setting(env, "SYNC_MAX_INCREASE_HOLD_S", 30.0),
        increase_hold_by_tenant=_hold_overrides(env, "SYNC_MAX_INCREASE_HOLD_S_BY_TENANT"),
        parallel_connections=env.int("SYNC_PARALLEL_CONNECTIONS", 16, minimum=1, maximum=256),
        backoff_cap=timedelta(seconds=env.float("SYNC_BACKOFF_CAP_S", 15.0, minimum=0.1, maximum=15.0)),
    )
    env.raise_if_invalid()
    return settings


__all__ = ["STRICT", "HoldLimit", "OrderPollSettings", "SyncSettings", "load_sync_settings", "parse_hold"]
