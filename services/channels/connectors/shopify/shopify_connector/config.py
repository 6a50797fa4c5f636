"""Shopify connector settings: the only module of the connector that reads the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from omnistock_common.config import EnvReader, ServiceSettings
from omnistock_common.egress import AllowList, allowed_hosts_setting
from omnistock_connector_kit.composition import ConnectorSettings

SERVICE = "shopify_connector"

# The Shopify sandbox's app credentials (services/channels/sandboxes/README.md, GET /_sandbox/config),
# so `make run` and the tests work without any configuration. Production sets real ones.
SANDBOX_CLIENT_ID = "sandbox-shopify-client-id"
SANDBOX_CLIENT_SECRET = "sandbox-shopify-client-secret"


@dataclass(frozen=True)
class Settings(ConnectorSettings):
    """Everything the Shopify connector process needs, validated once at start-up."""

    service: ServiceSettings
    # The Shopify app's own credentials: OAuth code exchange/refresh and webhook HMACs.
    client_id: str
    client_secret: str
    # The previous secret during a rotation: Shopify may sign webhooks with it for up to an hour.
    previous_client_secret: str
    # Comma-separated scopes requested on the consent page.
    scopes: str
    # Shopify GraphQL bucket, sized before the first call; every response's
    # extensions.cost.throttleStatus then replaces the level, size and restore rate per connection
    # (throttling.reported_bucket_level). Defaults: the smallest published plan, "Standard: 100
    # points/second" (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits; Advanced
    # 200, Plus 1000, enterprise 2000), and 1000 points of burst, the largest cost one query may
    # have. (Until 2024 the docs said 50 points/s, which made our bucket wait twice as long as the
    # shop's own limit requires.)
    bucket_capacity: float
    bucket_refill_per_second: float
    # Per HTTP attempt, and the longest a call waits for the bucket before RESOURCE_EXHAUSTED.
    http_timeout_seconds: float
    max_bucket_wait_seconds: float
    max_attempts: int
    # Deliveries whose X-Shopify-Triggered-At (or an order's updated_at) is older are refused.
    webhook_max_age_seconds: float = 5 * 3600
    # CHANNEL_ALLOWED_HOSTS: host:port patterns this connector may call besides the shop's own
    # https://{shop}.myshopify.com (sandboxes, test servers). Empty in production.
    allowed_hosts: AllowList = field(default_factory=AllowList)

    @property
    def webhook_secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.client_secret, self.previous_client_secret) if s)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings; raises ConfigError naming every bad variable."""
    env = EnvReader(environ)
    settings = Settings(
        service=ServiceSettings.read(SERVICE, env),
        client_id=env.secret("SHOPIFY_CLIENT_ID", SANDBOX_CLIENT_ID),
        client_secret=env.secret("SHOPIFY_CLIENT_SECRET", SANDBOX_CLIENT_SECRET),
        previous_client_secret=env.str("SHOPIFY_PREVIOUS_CLIENT_SECRET", ""),
        # write_orders (which implies read_orders) is what orderCancel requires
        # (https://shopify.dev/docs/api/admin-graphql/2025-07/mutations/orderCancel).
        scopes=env.str(
            "SHOPIFY_SCOPES",
            "read_products,write_products,read_inventory,write_inventory,read_locations,write_orders,"
            "read_merchant_managed_fulfillment_orders,write_merchant_managed_fulfillment_orders",
        ),
        bucket_capacity=env.float("SHOPIFY_BUCKET_CAPACITY", 1000.0, minimum=1.0),
        bucket_refill_per_second=env.float("SHOPIFY_BUCKET_REFILL_PER_SECOND", 100.0, minimum=0.1),
        http_timeout_seconds=env.float("SHOPIFY_HTTP_TIMEOUT_SECONDS", 10.0, minimum=0.1),
        max_bucket_wait_seconds=env.float("SHOPIFY_MAX_BUCKET_WAIT_SECONDS", 20.0, minimum=0.0),
        max_attempts=env.int("SHOPIFY_MAX_ATTEMPTS", 5, minimum=1, maximum=20),
        # Shopify retries over 4 h; below that, genuine retries would be refused.
        webhook_max_age_seconds=env.float("SHOPIFY_WEBHOOK_MAX_AGE_SECONDS", 5 * 3600.0, minimum=4 * 3600.0),
        allowed_hosts=allowed_hosts_setting(env.str("CHANNEL_ALLOWED_HOSTS", ""), env.problems),
    )
    env.raise_if_invalid()
    return settings
