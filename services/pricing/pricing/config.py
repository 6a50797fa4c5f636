"""Pricing settings: the only place the service (server and worker) reads its environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from omnistock_common.config import DatabaseSettings, service_addr

SERVICE = "pricing"


@dataclass(frozen=True)
class Settings(DatabaseSettings):
    # host:port of catalog (base prices: GetVariantsBySku) and channels (SKUs on a connection).
    catalog_addr: str
    channels_addr: str
    # Deadline of one catalog or channels call.
    call_timeout_seconds: float
    # An FX change re-pushes a derived price only when it moves by at least this fraction (0.01 = 1%).
    fx_threshold_percent: int

    @property
    def fx_threshold(self) -> Decimal:
        return Decimal(self.fx_threshold_percent) / 100


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every setting once; raises ConfigError naming each bad variable."""
    return Settings.load(
        SERVICE,
        environ,
        lambda env: {
            "catalog_addr": service_addr(env, "catalog"),
            "channels_addr": service_addr(env, "channels"),
            "call_timeout_seconds": env.float("PRICING_CALL_TIMEOUT_SECONDS", 10.0, minimum=0.1),
            "fx_threshold_percent": env.int("PRICING_FX_THRESHOLD_PERCENT", 1, minimum=0, maximum=100),
        },
    )
