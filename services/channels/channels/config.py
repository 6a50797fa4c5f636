"""Channels settings: the only place the channels service reads its environment.

Besides the common server settings it carries the credential keyring (CREDENTIALS_KEYS), the
secret that signs OAuth states, the public gateway URL the channels send merchants back to, and
the addresses of the connector services and the catalog.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from omnistock_common.config import (
    DatabaseSettings,
    EnvReader,
    ServiceSettings,
    read_db_pool_size,
    service_addr,
)
from omnistock_common.egress import AllowList, allowed_hosts_setting

# Connector services this build knows how to reach: channel type -> service name in
# omnistock_common.config.DEFAULT_GRPC_PORTS (<NAME>_ADDR overrides the address). Generated from
# the connectors' channel_types in deploy/deployables.toml (omnistock_common.topology).
from omnistock_common.topology import CONNECTOR_SERVICES as CONNECTOR_SERVICES

SERVICE = "channels"
log = logging.getLogger(__name__)

# Used only when CREDENTIALS_KEYS is unset, so `make run` works from a fresh clone. Anyone who
# reads this file can decrypt credentials stored with it: load_settings logs a loud warning.
DEV_CREDENTIALS_KEYS = "dev:" + base64.b64encode(b"omnistock-dev-only-credential-k!").decode()
DEV_OAUTH_STATE_SECRET = "omnistock-dev-only-oauth-state-secret-change-me"
MIN_STATE_SECRET_BYTES = 32


@dataclass(frozen=True)
class Settings(DatabaseSettings):
    # (key id, 32-byte AES key) pairs; the first one encrypts, every one decrypts.
    credentials_keys: tuple[tuple[str, bytes], ...]
    oauth_state_secret: bytes
    # The gateway's public URL: OAuth redirect_uri = PUBLIC_BASE_URL + /api/v1/channels/oauth/callback.
    public_base_url: str
    # channel type -> host:port of its connector service.
    connector_addrs: Mapping[str, str] = field(default_factory=dict)
    catalog_addr: str = ""
    # Publishing reads channel prices from pricing (the worker's publish path only).
    pricing_addr: str = ""
    # Deadline of one connector call (bulk pushes retry inside the connector, so this is generous).
    connector_timeout_seconds: float = 30.0
    catalog_timeout_seconds: float = 10.0
    # Deadline of the best-effort outgoing notification POST.
    notify_timeout_seconds: float = 2.0
    # Proactive refresh when the access token expires within this many seconds.
    refresh_skew_seconds: int = 300
    oauth_state_ttl_seconds: int = 600
    uses_dev_credentials_key: bool = False
    uses_dev_state_secret: bool = False
    # CHANNEL_ALLOWED_HOSTS: host:port patterns reachable besides public https:443 hosts (local
    # receivers of notification webhooks, test servers). Empty in production.
    allowed_hosts: AllowList = field(default_factory=AllowList)

    @property
    def oauth_redirect_uri(self) -> str:
        return self.public_base_url.rstrip("/") + "/api/v1/channels/oauth/callback"


def parse_keys(raw: str, env: EnvReader | None = None) -> tuple[tuple[str, bytes], ...]:
    """`kid:base64key,kid2:base64key` -> ((kid, key), ...); every key must be 32 bytes (AES-256)."""
    problems: list[str] = []
    keys: list[tuple[str, bytes]] = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        kid, sep, encoded = item.partition(":")
        if not sep or not kid or len(kid.encode()) > 64:
            problems.append("CREDENTIALS_KEYS entries must look like <key id>:<base64 32-byte key>")
            continue
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            problems.append(f"CREDENTIALS_KEYS key {kid!r} is not valid base64")
            continue
        if len(key) != 32:
            problems.append(f"CREDENTIALS_KEYS key {kid!r} must decode to 32 bytes, got {len(key)}")
            continue
        if any(existing == kid for existing, _ in keys):
            problems.append(f"CREDENTIALS_KEYS names key id {kid!r} twice")
            continue
        keys.append((kid, key))
    if not keys and not problems:
        problems.append("CREDENTIALS_KEYS holds no key")
    if env is None and problems:
        raise ValueError("; ".join(problems))
    if env is not None:
        env.problems.extend(problems)
    return tuple(keys)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every setting once; raises ConfigError naming each bad variable."""
    env = EnvReader(environ)
    raw_keys = env.secret("CREDENTIALS_KEYS", DEV_CREDENTIALS_KEYS, separator=",")
    state_secret = env.secret("OAUTH_STATE_SECRET", DEV_OAUTH_STATE_SECRET)
    if len(state_secret.encode()) < MIN_STATE_SECRET_BYTES:
        env.problems.append(f"OAUTH_STATE_SECRET must be at least {MIN_STATE_SECRET_BYTES} bytes")
    settings = Settings(
        server=ServiceSettings.read(SERVICE, env),
        credentials_keys=parse_keys(raw_keys, env),
        oauth_state_secret=state_secret.encode(),
        public_base_url=env.url("PUBLIC_BASE_URL", "http://127.0.0.1:8080", schemes=("http", "https")),
        connector_addrs={kind: service_addr(env, name) for kind, name in CONNECTOR_SERVICES.items()},
        catalog_addr=service_addr(env, "catalog"),
        pricing_addr=service_addr(env, "pricing"),
        connector_timeout_seconds=env.float("CHANNELS_CONNECTOR_TIMEOUT_SECONDS", 30.0, minimum=0.1),
        catalog_timeout_seconds=env.float("CHANNELS_CATALOG_TIMEOUT_SECONDS", 10.0, minimum=0.1),
        notify_timeout_seconds=env.float("CHANNELS_NOTIFY_TIMEOUT_SECONDS", 2.0, minimum=0.1),
        refresh_skew_seconds=env.int("CHANNELS_REFRESH_SKEW_SECONDS", 300, minimum=0, maximum=86400),
        oauth_state_ttl_seconds=env.int("CHANNELS_OAUTH_STATE_TTL_SECONDS", 600, minimum=30, maximum=3600),
        db_pool_size=read_db_pool_size(env, SERVICE),
        uses_dev_credentials_key=raw_keys == DEV_CREDENTIALS_KEYS,
        uses_dev_state_secret=state_secret == DEV_OAUTH_STATE_SECRET,
        allowed_hosts=allowed_hosts_setting(env.str("CHANNEL_ALLOWED_HOSTS", ""), env.problems),
    )
    env.raise_if_invalid()
    return settings


def warn_about_dev_secrets(settings: Settings) -> None:
    """Loud start-up warnings: the built-in development keys protect nothing."""
    if settings.uses_dev_credentials_key:
        log.warning(
            "!!! CREDENTIALS_KEYS is not set: channel credentials are encrypted with the built-in "
            "DEVELOPMENT key, which anyone can read in the source. Set CREDENTIALS_KEYS "
            "(<kid>:<base64 32 bytes>) before storing real credentials. !!!"
        )
    if settings.uses_dev_state_secret:
        log.warning(
            "!!! OAUTH_STATE_SECRET is not set: OAuth states are signed with the built-in "
            "DEVELOPMENT secret, so anyone can forge them. Set OAUTH_STATE_SECRET (>= 32 bytes). !!!"
        )
