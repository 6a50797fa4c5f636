"""Pricing settings: the only place the service (server and worker) reads its environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from omnistock_common.config import DatabaseSettings, EnvReader, service_addr

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
    # Tests only: a file holding an ISO 8601 time that server and worker take as "now" (timed
    # sales and schedules without sleeping); empty or missing file = the real clock.
    test_clock_file: str = ""

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
            "test_clock_file": _test_clock_file(env),
        },
    )


def _test_clock_file(env: EnvReader) -> str:
    """`PRICING_TEST_CLOCK_FILE`: a development-only switch, refused under OMNISTOCK_ENV=production
    (a production clock that a file can move would start and end sales at will)."""
    path = env.str("PRICING_TEST_CLOCK_FILE", "").strip()
    if path:
        env.mark_dev("PRICING_TEST_CLOCK_FILE", "moves the service's clock (tests only)")
    return path
