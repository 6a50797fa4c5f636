"""Orders settings: the only place the service (server and worker) reads its environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from omnistock_common.config import (
    DatabaseSettings,
    service_addr,
)
from orders.domain import Policy

SERVICE = "orders"


@dataclass(frozen=True)
class Settings(DatabaseSettings):
    # host:port of the inventory gRPC server (every stock step is a call there).
    inventory_addr: str
    # Deadline of one inventory call; it must stay well inside the worker's AMQP heartbeat.
    inventory_timeout_seconds: float
    # Orders with the same customer email and total within this window are possible duplicates.
    duplicate_window_seconds: int
    # An order whose stock step failed (inventory down) or was interrupted (crash) is retried by
    # the worker this long after the last attempt.
    stock_retry_seconds: int

    @property
    def policy(self) -> Policy:
        return Policy(
            duplicate_window=timedelta(seconds=self.duplicate_window_seconds),
            stock_retry=timedelta(seconds=self.stock_retry_seconds),
        )


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every setting once; raises ConfigError naming each bad variable."""
    return Settings.load(
        SERVICE,
        environ,
        lambda env: {
            "inventory_addr": service_addr(env, "inventory"),
            "inventory_timeout_seconds": env.float("ORDERS_INVENTORY_TIMEOUT_SECONDS", 10.0, minimum=0.1),
            "duplicate_window_seconds": env.int(
                "ORDERS_DUPLICATE_WINDOW_SECONDS", 600, minimum=0, maximum=30 * 86400
            ),
            "stock_retry_seconds": env.int("ORDERS_STOCK_RETRY_SECONDS", 30, minimum=1, maximum=86400),
        },
    )
