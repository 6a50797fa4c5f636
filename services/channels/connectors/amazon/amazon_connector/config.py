"""Amazon connector settings: the only module of the connector that reads the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from omnistock_common.config import EnvReader, ServiceSettings
from omnistock_common.egress import AllowList, allowed_hosts_setting
from omnistock_connector_kit.composition import ConnectorSettings

SERVICE = "amazon_connector"

# The Amazon sandbox's app credentials (channel_sandboxes.amazon AmazonConfig, GET /_sandbox/config),
# so `make run` and the tests work without any configuration. Production sets real ones.
SANDBOX_LWA_CLIENT_ID = "amzn1.application-oa2-client.sandbox0000000000000000000"
SANDBOX_LWA_CLIENT_SECRET = "sandbox-amazon-lwa-client-secret"
SANDBOX_APP_ID = "amzn1.sp.solution.sandbox-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class Settings(ConnectorSettings):
    """Everything the Amazon connector process needs, validated once at start-up."""

    service: ServiceSettings
    # The SP-API application: its LWA client (token exchange and refresh) and its application id
    # (the consent page's application_id).
    lwa_client_id: str
    lwa_client_secret: str
    app_id: str
    # A draft (unpublished) app must send version=beta on the consent page.
    app_is_draft: bool
    # The ConnectorSettings bucket fields are unused by the per-operation buckets (their sizes come
    # from the usage plans, protocol.api.USAGE_PLANS); kept for the shared composition helpers.
    bucket_capacity: float
    bucket_refill_per_second: float
    http_timeout_seconds: float
    # Longest wait for a token of an operation's bucket before RESOURCE_EXHAUSTED (with retry_after).
    max_bucket_wait_seconds: float
    max_attempts: int
    # How long PushInventory/PushPrices wait for a feed to be processed, and between two getFeed.
    feed_wait_seconds: float
    feed_poll_seconds: float
    allowed_hosts: AllowList = field(default_factory=AllowList)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings; raises ConfigError naming every bad variable."""
    env = EnvReader(environ)
    settings = Settings(
        service=ServiceSettings.read(SERVICE, env),
        lwa_client_id=env.secret("AMAZON_LWA_CLIENT_ID", SANDBOX_LWA_CLIENT_ID),
        lwa_client_secret=env.secret("AMAZON_LWA_CLIENT_SECRET", SANDBOX_LWA_CLIENT_SECRET),
        app_id=env.secret("AMAZON_APP_ID", SANDBOX_APP_ID),
        app_is_draft=env.str("AMAZON_APP_IS_DRAFT", "false").strip().lower() in ("1", "true", "yes"),
        bucket_capacity=env.float("AMAZON_BUCKET_CAPACITY", 5.0, minimum=1.0),
        bucket_refill_per_second=env.float("AMAZON_BUCKET_REFILL_PER_SECOND", 1.0, minimum=0.001),
        http_timeout_seconds=env.float("AMAZON_HTTP_TIMEOUT_SECONDS", 10.0, minimum=0.1),
        max_bucket_wait_seconds=env.float("AMAZON_MAX_BUCKET_WAIT_SECONDS", 10.0, minimum=0.0),
        max_attempts=env.int("AMAZON_MAX_ATTEMPTS", 4, minimum=1, maximum=20),
        feed_wait_seconds=env.float("AMAZON_FEED_WAIT_SECONDS", 15.0, minimum=0.0),
        feed_poll_seconds=env.float("AMAZON_FEED_POLL_SECONDS", 2.0, minimum=0.0),
        allowed_hosts=allowed_hosts_setting(env.str("CHANNEL_ALLOWED_HOSTS", ""), env.problems),
    )
    env.raise_if_invalid()
    return settings
