"""Meta connector settings: the only module of the connector that reads the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from omnistock_common.config import EnvReader, ServiceSettings
from omnistock_common.egress import AllowList, allowed_hosts_setting
from omnistock_connector_kit.composition import ConnectorSettings

SERVICE = "meta_connector"

# The Meta sandbox's app credentials (services/channels/sandboxes/channel_sandboxes/meta, GET
# /_sandbox/config), so `make run` and the tests work without configuration. Production sets real ones.
SANDBOX_APP_ID = "100000000000001"
SANDBOX_APP_SECRET = "sandbox-meta-app-secret"
SANDBOX_WEBHOOK_VERIFY_TOKEN = "sandbox-meta-verify-token"


@dataclass(frozen=True)
class Settings(ConnectorSettings):
    """Everything the Meta connector process needs, validated once at start-up."""

    service: ServiceSettings
    # The Meta app: Login (code exchange, token re-exchange) and webhook signatures.
    app_id: str
    app_secret: str
    # The app secret being rotated out: deliveries signed with it are still accepted.
    previous_app_secret: str
    # What the webhook subscription's verification GET must carry as hub.verify_token.
    webhook_verify_token: str
    # Comma-separated permissions; empty: the connector's defaults per channel type (protocol.oauth).
    scopes: str
    # Token bucket per connection. Graph's platform limit is per app/user per rolling hour and the
    # catalog batch BUC limit per catalog per minute; the usage headers tell the real level, so the
    # local bucket only smooths bursts.
    bucket_capacity: float
    bucket_refill_per_second: float
    http_timeout_seconds: float
    http_max_attempts: int
    max_bucket_wait_seconds: float
    # items_batch is asynchronous: how long a push polls its handle, and how often.
    batch_wait_seconds: float
    batch_poll_interval_seconds: float
    allowed_hosts: AllowList = field(default_factory=AllowList)

    @property
    def webhook_secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.app_secret, self.previous_app_secret) if s)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings; raises ConfigError naming every bad variable."""
    env = EnvReader(environ)
    settings = Settings(
        service=ServiceSettings.read(SERVICE, env),
        app_id=env.secret("META_APP_ID", SANDBOX_APP_ID),
        app_secret=env.secret("META_APP_SECRET", SANDBOX_APP_SECRET),
        previous_app_secret=env.str("META_PREVIOUS_APP_SECRET", ""),
        webhook_verify_token=env.secret("META_WEBHOOK_VERIFY_TOKEN", SANDBOX_WEBHOOK_VERIFY_TOKEN),
        scopes=env.str("META_SCOPES", ""),
        bucket_capacity=env.float("META_CONNECTOR_BUCKET_CAPACITY", 50.0, minimum=1.0),
        bucket_refill_per_second=env.float("META_CONNECTOR_BUCKET_REFILL_PER_SECOND", 5.0, minimum=0.01),
        http_timeout_seconds=env.float("META_CONNECTOR_HTTP_TIMEOUT_SECONDS", 15.0, minimum=0.1),
        http_max_attempts=env.int("META_CONNECTOR_HTTP_MAX_ATTEMPTS", 4, minimum=1, maximum=10),
        max_bucket_wait_seconds=env.float("META_CONNECTOR_MAX_BUCKET_WAIT_SECONDS", 10.0, minimum=0.0),
        batch_wait_seconds=env.float("META_CONNECTOR_BATCH_WAIT_SECONDS", 15.0, minimum=0.0),
        batch_poll_interval_seconds=env.float("META_CONNECTOR_BATCH_POLL_INTERVAL_SECONDS", 1.0, minimum=0.0),
        allowed_hosts=allowed_hosts_setting(env.str("CHANNEL_ALLOWED_HOSTS", ""), env.problems),
    )
    env.raise_if_invalid()
    return settings
