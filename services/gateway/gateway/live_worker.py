"""nameko entry points of the live-updates relay (deployable `live-worker`, service `gateway_live`).

Run: `nameko run --config services/gateway/live_worker.yaml gateway.live_worker` (AMQP_URL,
REDIS_URL and INTERNAL_TOKEN_SECRET from the environment). Each handler is one line over
gateway.live_relay, which knows nothing of nameko or eventlet. The Redis publish is a short call on
the green thread (the socket is monkey-patched by `nameko run`).

The handlers' queues are not reliable (`reliable_delivery=False`: auto-deleted when the last relay
stops): a notice is worth something now or never, so a stopped relay must not leave a backlog of
stale notices behind, and replicas share each queue, so every event is announced once. The
events this relay alone consumes (`inventory.low_stock`, `channels.connection_*`) are published as
optional for that reason (docs/decisions/0012-live-updates.md).
"""

from __future__ import annotations

from typing import Any

import redis
from nameko.events import event_handler
from nameko.extensions import DependencyProvider

from gateway.config import load_live_relay_settings
from gateway.live_relay import LiveRelay, build_relay
from omnistock_common.config import check_amqp_url, exit_on_config_error, load_internal_auth_settings
from omnistock_common.shared_locks import use_os_locks
from omnistock_common.stop_deadline import install_stop_deadline

# Refuse to start (one line, exit 2) on bad settings or, in production, development secrets.
exit_on_config_error(lambda: (check_amqp_url(), load_live_relay_settings(), load_internal_auth_settings()))
# The module-level locks the hub and OS threads both take become OS locks (docs/development.md).
use_os_locks()
# After SIGTERM the process is gone within this many seconds.
STOP_DEADLINE = 8.0
SERVICE_NAME = "gateway_live"


class Relay(DependencyProvider):
    """Builds the relay and its Redis client once per container; closes the client at the stop."""

    def setup(self) -> None:
        self.relay, self.client = build_relay(
            load_live_relay_settings(), load_internal_auth_settings().token_secret
        )

    def start(self) -> None:
        install_stop_deadline(STOP_DEADLINE)

    def stop(self) -> None:
        client: redis.Redis = self.client
        client.close()

    def get_dependency(self, worker_ctx: object) -> LiveRelay:
        return self.relay


class LiveRelayWorker:
    """Stock, low-stock alerts and connection health, announced to the tenant's open dashboards."""

    name = SERVICE_NAME
    relay = Relay()

    @event_handler("inventory", "stock_changed", reliable_delivery=False)
    def on_stock_changed(self, payload: dict[str, Any]) -> None:
        self.relay.forward("inventory.stock_changed", payload)

    @event_handler("inventory", "low_stock", reliable_delivery=False)
    def on_low_stock(self, payload: dict[str, Any]) -> None:
        self.relay.forward("inventory.low_stock", payload)

    @event_handler("channels", "connection_health_changed", reliable_delivery=False)
    def on_connection_health_changed(self, payload: dict[str, Any]) -> None:
        self.relay.forward("channels.connection_health_changed", payload)

    @event_handler("channels", "connection_created", reliable_delivery=False)
    def on_connection_created(self, payload: dict[str, Any]) -> None:
        self.relay.forward("channels.connection_created", payload)

    @event_handler("channels", "connection_reauthorised", reliable_delivery=False)
    def on_connection_reauthorised(self, payload: dict[str, Any]) -> None:
        self.relay.forward("channels.connection_reauthorised", payload)

    @event_handler("channels", "connection_deleted", reliable_delivery=False)
    def on_connection_deleted(self, payload: dict[str, Any]) -> None:
        self.relay.forward("channels.connection_deleted", payload)
