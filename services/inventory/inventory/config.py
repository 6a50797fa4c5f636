"""Inventory settings: the only place the service reads its environment.

Besides the common server settings it carries the business defaults that callers may leave
out (reservation TTL, low-stock threshold) and the batch cap that bounds one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from inventory.domain import Policy
from omnistock_common.config import DatabaseSettings

SERVICE = "inventory"


@dataclass(frozen=True)
class Settings(DatabaseSettings):
    # A hold without an explicit TTL lasts this long (ReserveRequest.ttl_seconds == 0).
    default_reservation_ttl_seconds: int
    # Tenant-wide low-stock threshold until SetDefaultLowStockThreshold changes it.
    default_low_stock_threshold: int
    # BatchAdjust runs in ONE transaction; the cap keeps lock time and payload size bounded.
    max_batch_lines: int
    # Largest TTL a caller may ask for, so a typo cannot pin stock for years.
    max_reservation_ttl_seconds: int

    @property
    def policy(self) -> Policy:
        return Policy(
            default_reservation_ttl_seconds=self.default_reservation_ttl_seconds,
            max_reservation_ttl_seconds=self.max_reservation_ttl_seconds,
            default_low_stock_threshold=self.default_low_stock_threshold,
            max_batch_lines=self.max_batch_lines,
        )


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every setting once; raises ConfigError naming each bad variable."""
    return Settings.load(
        SERVICE,
        environ,
        lambda env: {
            "default_reservation_ttl_seconds": env.int(
                "INVENTORY_RESERVATION_TTL_SECONDS", 900, minimum=1, maximum=30 * 86400
            ),
            "default_low_stock_threshold": env.int("INVENTORY_LOW_STOCK_THRESHOLD", 10, minimum=0),
            "max_batch_lines": env.int("INVENTORY_MAX_BATCH_LINES", 10_000, minimum=1, maximum=100_000),
            "max_reservation_ttl_seconds": env.int(
                "INVENTORY_MAX_RESERVATION_TTL_SECONDS", 30 * 86400, minimum=1
            ),
        },
    )
