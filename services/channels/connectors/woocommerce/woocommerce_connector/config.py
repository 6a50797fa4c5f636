"""WooCommerce connector settings: the only module of the service that reads the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from omnistock_common.config import EnvReader, ServiceSettings
from omnistock_common.egress import AllowList, allowed_hosts_setting
from omnistock_connector_kit.composition import ConnectorSettings

SERVICE = "woocommerce_connector"

# WooCommerce publishes no rate limit for the REST API (wc/v3): a store is a WordPress site on the
# merchant's own hosting, and cheap hosting falls over long before any documented limit. The only
# documented limiter is the Store API's, optional and off by default ("A default maximum of 25
# requests can be made within a 10-second time frame", POST only,
# https://developer.woocommerce.com/docs/apis/store-api/rate-limiting); we stay under that figure
# anyway. These are OUR conservative defaults: 5 requests/s sustained with bursts of 10 per
# connection, shared by every replica through Redis (with 100-item batches, still 500 stock updates
# per second per store). A host that answers 429 is obeyed through Retry-After (channel_http).
DEFAULT_BUCKET_CAPACITY = 10
DEFAULT_BUCKET_REFILL_PER_SECOND = 5.0


@dataclass(frozen=True)
class Settings(ConnectorSettings):
    """Everything the connector process needs, validated once at start-up."""

    service: ServiceSettings
    # Token bucket per connection (Redis), see the defaults above.
    bucket_capacity: int
    bucket_refill_per_second: float
    # Timeout of one HTTP attempt against the store.
    http_timeout_seconds: float
    # Attempts per HTTP call (429/5xx/timeouts are retried with jittered backoff).
    http_max_attempts: int
    # Longest Retry-After/backoff the connector sleeps through before handing the RPC back as
    # RESOURCE_EXHAUSTED/UNAVAILABLE (a worker thread should not idle for minutes).
    http_max_delay_seconds: float
    # CHANNEL_ALLOWED_HOSTS: host:port patterns this connector may call besides stores on
    # https:443 at public addresses (sandboxes, test servers). Empty in production.
    allowed_hosts: AllowList = field(default_factory=AllowList)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings; raises ConfigError naming every bad variable."""
    env = EnvReader(environ)
    settings = Settings(
        service=ServiceSettings.read(SERVICE, env),
        bucket_capacity=env.int("WOOCOMMERCE_CONNECTOR_BUCKET_CAPACITY", DEFAULT_BUCKET_CAPACITY, minimum=1),
        bucket_refill_per_second=env.float(
            "WOOCOMMERCE_CONNECTOR_BUCKET_REFILL_PER_SECOND", DEFAULT_BUCKET_REFILL_PER_SECOND, minimum=0.01
        ),
        http_timeout_seconds=env.float("WOOCOMMERCE_CONNECTOR_HTTP_TIMEOUT_SECONDS", 10.0, minimum=0.1),
        http_max_attempts=env.int("WOOCOMMERCE_CONNECTOR_HTTP_MAX_ATTEMPTS", 5, minimum=1, maximum=20),
        http_max_delay_seconds=env.float(
            "WOOCOMMERCE_CONNECTOR_HTTP_MAX_DELAY_SECONDS", 10.0, minimum=0.0, maximum=15.0
        ),
        allowed_hosts=allowed_hosts_setting(env.str("CHANNEL_ALLOWED_HOSTS", ""), env.problems),
    )
    env.raise_if_invalid()
    return settings
