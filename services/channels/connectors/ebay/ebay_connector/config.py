"""eBay connector settings: the only module of the connector that reads the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ebay_connector.protocol.api import DEFAULT_SCOPES
from ebay_connector.protocol.budget import DAILY_REVISIONS, DEFAULT_RESERVE
from omnistock_common.config import EnvReader, ServiceSettings
from omnistock_common.egress import AllowList, allowed_hosts_setting
from omnistock_connector_kit.composition import ConnectorSettings

SERVICE = "ebay_connector"

# The eBay sandbox's app credentials (GET /_sandbox/config), so `make run` and the tests work
# without configuration. Production sets the app's real keyset, RuName and verification token.
SANDBOX_CLIENT_ID = "sandbox-ebay-client-id"
SANDBOX_CLIENT_SECRET = "sandbox-ebay-client-secret"
SANDBOX_RU_NAME = "OmniStock-Sandbox-RuName"
# 32 to 80 characters of [A-Za-z0-9_-], as eBay requires of a verification token.
SANDBOX_VERIFICATION_TOKEN = "sandbox-ebay-verification-token-0123456789"


@dataclass(frozen=True)
class Settings(ConnectorSettings):
    """Everything the eBay connector process needs, validated once at start-up."""

    service: ServiceSettings
    # The eBay app's keyset (App ID = client id, Cert ID = client secret) and its RuName, the
    # redirect_uri eBay expects instead of a URL (CHANNELS.md 6.1).
    client_id: str
    client_secret: str
    ru_name: str
    # Marketplace account deletion: hashed into the endpoint's challenge answer.
    verification_token: str
    # Space-separated OAuth scopes requested on the consent page.
    scopes: tuple[str, ...]
    # Per connection. eBay's quotas are daily per API per application (default call limits,
    # https://developer.ebay.com/develop/api/sell/api_call_limits; Account API 25,000/day, Finances
    # 15,000/day; raised after the Application Growth Check). Default: 50 calls of burst (a page of
    # ListRemoteProducts with its getOffers calls fits in it), then 0.5/s (43,200 calls a day per
    # connection); lower them when the app's quota is shared by many sellers.
    bucket_capacity: float
    bucket_refill_per_second: float
    http_timeout_seconds: float
    max_bucket_wait_seconds: float
    max_attempts: int
    # Revisions per listing per day kept for decreases (budget.py); at most the daily cap.
    revision_reserve: int = DEFAULT_RESERVE
    allowed_hosts: AllowList = field(default_factory=AllowList)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings; raises ConfigError naming every bad variable."""
    env = EnvReader(environ)
    settings = Settings(
        service=ServiceSettings.read(SERVICE, env),
        client_id=env.secret("EBAY_CLIENT_ID", SANDBOX_CLIENT_ID),
        client_secret=env.secret("EBAY_CLIENT_SECRET", SANDBOX_CLIENT_SECRET),
        ru_name=env.str("EBAY_RU_NAME", SANDBOX_RU_NAME),
        verification_token=env.secret("EBAY_VERIFICATION_TOKEN", SANDBOX_VERIFICATION_TOKEN),
        scopes=tuple(env.str("EBAY_SCOPES", " ".join(DEFAULT_SCOPES)).replace(",", " ").split()),
        bucket_capacity=env.float("EBAY_CONNECTOR_BUCKET_CAPACITY", 50.0, minimum=1.0),
        bucket_refill_per_second=env.float("EBAY_CONNECTOR_BUCKET_REFILL_PER_SECOND", 0.5, minimum=0.001),
        http_timeout_seconds=env.float("EBAY_HTTP_TIMEOUT_SECONDS", 15.0, minimum=0.1),
        max_bucket_wait_seconds=env.float("EBAY_MAX_BUCKET_WAIT_SECONDS", 20.0, minimum=0.0),
        max_attempts=env.int("EBAY_MAX_ATTEMPTS", 4, minimum=1, maximum=20),
        revision_reserve=env.int(
            "EBAY_REVISION_RESERVE", DEFAULT_RESERVE, minimum=0, maximum=DAILY_REVISIONS - 1
        ),
        allowed_hosts=allowed_hosts_setting(env.str("CHANNEL_ALLOWED_HOSTS", ""), env.problems),
    )
    env.raise_if_invalid()
    return settings
