"""TikTok Shop connector settings: the only module of the connector that reads the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from omnistock_common.config import EnvReader, ServiceSettings
from omnistock_common.egress import AllowList, allowed_hosts_setting
from omnistock_connector_kit.composition import ConnectorSettings

SERVICE = "tiktok_connector"

# The TikTok sandbox's app credentials (services/channels/sandboxes, GET /_sandbox/config), so
# `make run` and the tests work without configuration. Production sets real ones.
SANDBOX_APP_KEY = "sandbox-tiktok-app-key"
SANDBOX_APP_SECRET = "sandbox-tiktok-app-secret"
SANDBOX_SERVICE_ID = "sandbox-tiktok-service-id"


@dataclass(frozen=True)
class Settings(ConnectorSettings):
    """Everything the TikTok connector process needs, validated once at start-up."""

    service: ServiceSettings
    # The app's credentials: request signing, token endpoints, webhook signatures.
    app_key: str
    app_secret: str
    # The previous secret during a rotation (webhooks may still be signed with it).
    previous_app_secret: str
    # The service id the seller authorizes on services.tiktokshop.com/open/authorize.
    service_id: str
    # Per-shop bucket. TikTok publishes no single per-shop figure we could verify (limits are per
    # API and app, answered with code 36009002): a conservative 10 requests/second, burst 20.
    bucket_capacity: float
    bucket_refill_per_second: float
    http_timeout_seconds: float
    max_bucket_wait_seconds: float
    max_attempts: int
    # Deliveries whose payload timestamp is older are refused (TikTok retries for hours).
    webhook_max_age_seconds: float = 24 * 3600
    allowed_hosts: AllowList = field(default_factory=AllowList)

    @property
    def app_secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.app_secret, self.previous_app_secret) if s)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings; raises ConfigError naming every bad variable."""
    env = EnvReader(environ)
    settings = Settings(
        service=ServiceSettings.read(SERVICE, env),
        app_key=env.secret("TIKTOK_APP_KEY", SANDBOX_APP_KEY),
        app_secret=env.secret("TIKTOK_APP_SECRET", SANDBOX_APP_SECRET),
        previous_app_secret=env.str("TIKTOK_PREVIOUS_APP_SECRET", ""),
        service_id=env.secret("TIKTOK_SERVICE_ID", SANDBOX_SERVICE_ID),
        bucket_capacity=env.float("TIKTOK_CONNECTOR_BUCKET_CAPACITY", 20.0, minimum=1.0),
        bucket_refill_per_second=env.float("TIKTOK_CONNECTOR_BUCKET_REFILL_PER_SECOND", 10.0, minimum=0.1),
        http_timeout_seconds=env.float("TIKTOK_HTTP_TIMEOUT_SECONDS", 10.0, minimum=0.1),
        max_bucket_wait_seconds=env.float("TIKTOK_MAX_BUCKET_WAIT_SECONDS", 20.0, minimum=0.0),
        max_attempts=env.int("TIKTOK_MAX_ATTEMPTS", 5, minimum=1, maximum=20),
        webhook_max_age_seconds=env.float("TIKTOK_WEBHOOK_MAX_AGE_SECONDS", 24 * 3600.0, minimum=3600.0),
        allowed_hosts=allowed_hosts_setting(env.str("CHANNEL_ALLOWED_HOSTS", ""), env.problems),
    )
    env.raise_if_invalid()
    return settings
