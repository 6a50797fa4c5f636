"""Gateway settings: the only module of the gateway that reads the environment.

Every value has a default that works on a developer laptop (`make run`); a value that is present
but invalid stops the process at start-up with a message naming the variable.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from omnistock_common.config import (
    DEFAULT_GATEWAY_PORT,
    DEFAULT_GRPC_PORTS,
    EnvReader,
    default_sqlite_url,
    project_root,
    service_addr,
)

log = logging.getLogger(__name__)

# Used only when GATEWAY_JWT_SECRET is unset, so `make run` works from a fresh clone. Anyone who
# reads this file can forge tokens for a gateway running with it: create_app logs a loud warning,
# and OMNISTOCK_ENV=production refuses to start with it.
DEV_JWT_SECRET = "omnistock-dev-only-jwt-secret-change-me-0123456789"
MIN_JWT_SECRET_BYTES = 32
# What /readyz checks unless GATEWAY_BACKENDS says otherwise: every service the routes call, so a
# load balancer never sends traffic to a gateway whose channels backend is down.
DEFAULT_BACKENDS: tuple[str, ...] = ("catalog", "inventory", "channels", "orders", "pricing")


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = DEFAULT_GATEWAY_PORT
    database_url: str = field(default_factory=lambda: default_sqlite_url("gateway"))
    redis_url: str = "redis://127.0.0.1:6379/0"
    jwt_secret: str = DEV_JWT_SECRET
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    # A login's refresh family dies this long after the login, however often it was rotated.
    refresh_family_max_age_seconds: int = 30 * 24 * 3600
    # How long a replica trusts its cached copy of a user's token version: a deleted, demoted or
    # password-changed user's access tokens stop working at most this long after the change.
    token_version_cache_seconds: float = 5.0
    # The gateway as browsers reach it; https makes the OAuth binding cookie Secure.
    public_base_url: str = "http://127.0.0.1:8080"
    # name -> host:port of every backend the gateway calls; /readyz checks each of them.
    backends: Mapping[str, str] = field(
        default_factory=lambda: {name: f"127.0.0.1:{DEFAULT_GRPC_PORTS[name]}" for name in DEFAULT_BACKENDS}
    )
    catalog_addr: str = f"127.0.0.1:{DEFAULT_GRPC_PORTS['catalog']}"
    inventory_addr: str = f"127.0.0.1:{DEFAULT_GRPC_PORTS['inventory']}"
    channels_addr: str = f"127.0.0.1:{DEFAULT_GRPC_PORTS['channels']}"
    orders_addr: str = f"127.0.0.1:{DEFAULT_GRPC_PORTS['orders']}"
    pricing_addr: str = f"127.0.0.1:{DEFAULT_GRPC_PORTS['pricing']}"
    # Channels retry webhooks that are not acknowledged within a few seconds (Shopify: 5 s).
    webhook_timeout_seconds: float = 3.0
    # Webhook intake (no JWT): larger bodies are refused (413) before they are read, and each
    # connection id takes at most webhook_rate_limit deliveries per window (429), unknown ids too.
    webhook_max_body_bytes: int = 5 * 1024 * 1024
    webhook_rate_limit: int = 600
    webhook_rate_window_seconds: int = 60
    grpc_timeout_seconds: float = 5.0
    # Import/export stream a whole catalog (or every order), so they get their own, longer deadline.
    bulk_timeout_seconds: float = 600.0
    # Order writes reserve, commit or release stock in inventory before they answer: a longer
    # deadline than a plain read.
    orders_timeout_seconds: float = 10.0
    # Order exports per tenant per window (each one reads every matching order): 429 beyond.
    order_export_rate_limit: int = 10
    order_export_rate_window_seconds: int = 60
    readiness_timeout_seconds: float = 1.0
    # Wrong passwords per (client IP, account) before each further one doubles a wait
    # (1 s, 2 s, 4 s ... up to login_backoff_max_seconds); the owner on another IP is unaffected.
    login_free_failures: int = 5
    login_backoff_max_seconds: int = 15 * 60
    # Failures are forgotten this long after the last one.
    login_failure_memory_seconds: int = 3600
    login_max_attempts_per_ip: int = 30
    login_ip_window_seconds: int = 60
    # Each registration costs an argon2 hash (64 MiB): limited per client IP.
    register_max_per_ip: int = 10
    register_ip_window_seconds: int = 60
    max_upload_bytes: int = 256 * 1024 * 1024
    # JSON request bodies (every route with a JSON body; a route may declare its own limit).
    max_json_bytes: int = 1024 * 1024
    # How many reverse proxies in front of the gateway set X-Forwarded-For (0: use the peer address).
    trusted_proxies: int = 0
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 64 * 1024
    argon2_parallelism: int = 4
    # Live updates (GET /api/v1/events, docs/decisions/0012): a stream holds one of the process's
    # threads, so at most live_max_streams are open per process (503 + Retry-After beyond), each
    # for at most live_max_seconds (the browser reconnects with a new ticket), with a comment line
    # every live_heartbeat_seconds; a ticket lives live_ticket_seconds and opens one stream.
    live_max_streams: int = 4
    live_max_seconds: float = 300.0
    live_heartbeat_seconds: float = 15.0
    live_ticket_seconds: int = 30
    log_level: str = "INFO"
    log_format: str = "json"
    # The dashboard's build (web/dist, `make web`), served at /.
    web_dist_dir: str = field(default_factory=lambda: str(project_root() / "web" / "dist"))

    @property
    def uses_dev_jwt_secret(self) -> bool:
        return self.jwt_secret == DEV_JWT_SECRET


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every gateway setting; raises ConfigError listing all problems at once."""
    env = EnvReader(environ)
    jwt_secret = env.secret("GATEWAY_JWT_SECRET", DEV_JWT_SECRET)
    if len(jwt_secret.encode()) < MIN_JWT_SECRET_BYTES:
        env.problems.append(f"GATEWAY_JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes")

    backend_names = [
        name.strip() for name in env.str("GATEWAY_BACKENDS", ",".join(DEFAULT_BACKENDS)).split(",")
    ]
    backends: dict[str, str] = {}
    for name in backend_names:
        if not name:
            continue
        if name not in DEFAULT_GRPC_PORTS:
            env.problems.append(
                f"GATEWAY_BACKENDS names unknown service {name!r} (known: {', '.join(DEFAULT_GRPC_PORTS)})"
            )
            continue
        backends[name] = service_addr(env, name)

    settings = Settings(
        host=env.str("GATEWAY_HOST", "127.0.0.1"),
        port=env.int("GATEWAY_PORT", DEFAULT_GATEWAY_PORT, minimum=0, maximum=65535),
        database_url=env.database_url("GATEWAY_DATABASE_URL", default_sqlite_url("gateway")),
        redis_url=env.redis_url("REDIS_URL"),
        jwt_secret=jwt_secret,
        access_token_ttl_seconds=env.int("ACCESS_TOKEN_TTL_SECONDS", 900, minimum=30, maximum=24 * 3600),
        refresh_token_ttl_seconds=env.int(
            "REFRESH_TOKEN_TTL_SECONDS", 30 * 24 * 3600, minimum=60, maximum=365 * 24 * 3600
        ),
        refresh_family_max_age_seconds=env.int(
            "REFRESH_FAMILY_MAX_AGE_SECONDS", 30 * 24 * 3600, minimum=60, maximum=365 * 24 * 3600
        ),
        token_version_cache_seconds=env.float("GATEWAY_TOKEN_VERSION_CACHE_SECONDS", 5.0, minimum=0.0),
        public_base_url=env.url("PUBLIC_BASE_URL", "http://127.0.0.1:8080", schemes=("http", "https")),
        backends=backends,
        catalog_addr=service_addr(env, "catalog"),
        inventory_addr=service_addr(env, "inventory"),
        channels_addr=service_addr(env, "channels"),
        orders_addr=service_addr(env, "orders"),
        pricing_addr=service_addr(env, "pricing"),
        webhook_timeout_seconds=env.float("GATEWAY_WEBHOOK_TIMEOUT_SECONDS", 3.0, minimum=0.1),
        webhook_max_body_bytes=env.int("GATEWAY_WEBHOOK_MAX_BODY_BYTES", 5 * 1024 * 1024, minimum=1024),
        webhook_rate_limit=env.int("GATEWAY_WEBHOOK_RATE_LIMIT", 600, minimum=1),
        webhook_rate_window_seconds=env.int("GATEWAY_WEBHOOK_RATE_WINDOW_SECONDS", 60, minimum=1),
        grpc_timeout_seconds=env.float("GRPC_TIMEOUT_SECONDS", 5.0, minimum=0.05),
        bulk_timeout_seconds=env.float("GATEWAY_BULK_TIMEOUT_SECONDS", 600.0, minimum=1.0),
        orders_timeout_seconds=env.float("GATEWAY_ORDERS_TIMEOUT_SECONDS", 10.0, minimum=0.05),
        order_export_rate_limit=env.int("GATEWAY_ORDER_EXPORT_RATE_LIMIT", 10, minimum=1),
        order_export_rate_window_seconds=env.int("GATEWAY_ORDER_EXPORT_RATE_WINDOW_SECONDS", 60, minimum=1),
        readiness_timeout_seconds=env.float("GATEWAY_READINESS_TIMEOUT_SECONDS", 1.0, minimum=0.05),
        login_free_failures=env.int("LOGIN_FREE_FAILURES", 5, minimum=1),
        login_backoff_max_seconds=env.int("LOGIN_BACKOFF_MAX_SECONDS", 15 * 60, minimum=1),
        login_failure_memory_seconds=env.int("LOGIN_FAILURE_MEMORY_SECONDS", 3600, minimum=1),
        login_max_attempts_per_ip=env.int("LOGIN_MAX_ATTEMPTS_PER_IP", 30, minimum=1),
        login_ip_window_seconds=env.int("LOGIN_IP_WINDOW_SECONDS", 60, minimum=1),
        register_max_per_ip=env.int("REGISTER_MAX_PER_IP", 10, minimum=1),
        register_ip_window_seconds=env.int("REGISTER_IP_WINDOW_SECONDS", 60, minimum=1),
        max_upload_bytes=env.int("GATEWAY_MAX_UPLOAD_BYTES", 256 * 1024 * 1024, minimum=1024),
        max_json_bytes=env.int("GATEWAY_MAX_JSON_BYTES", 1024 * 1024, minimum=1024),
        trusted_proxies=env.int("GATEWAY_TRUSTED_PROXIES", 0, minimum=0, maximum=10),
        argon2_time_cost=env.int("ARGON2_TIME_COST", 3, minimum=1, maximum=20),
        argon2_memory_kib=env.int("ARGON2_MEMORY_KIB", 64 * 1024, minimum=8, maximum=4 * 1024 * 1024),
        argon2_parallelism=env.int("ARGON2_PARALLELISM", 4, minimum=1, maximum=64),
        live_max_streams=env.int("GATEWAY_LIVE_MAX_STREAMS", 4, minimum=0, maximum=10_000),
        live_max_seconds=env.float("GATEWAY_LIVE_MAX_SECONDS", 300.0, minimum=1.0, maximum=3600.0),
        live_heartbeat_seconds=env.float("GATEWAY_LIVE_HEARTBEAT_SECONDS", 15.0, minimum=0.1, maximum=300.0),
        live_ticket_seconds=env.int("GATEWAY_LIVE_TICKET_SECONDS", 30, minimum=1, maximum=300),
        log_level=env.choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")),
        log_format=env.choice("LOG_FORMAT", "json", ("json", "text")),
        web_dist_dir=env.str("GATEWAY_WEB_DIST_DIR", str(project_root() / "web" / "dist")),
    )
    if settings.token_version_cache_seconds > 5:
        env.problems.append("GATEWAY_TOKEN_VERSION_CACHE_SECONDS must be at most 5 (revocation delay)")
    if settings.argon2_memory_kib < 8 * settings.argon2_parallelism:
        env.problems.append("ARGON2_MEMORY_KIB must be at least 8 x ARGON2_PARALLELISM (an argon2 rule)")
    env.raise_if_invalid()
    return settings


@dataclass(frozen=True)
class LiveRelaySettings:
    """The live-updates relay (gateway.live_worker): where it publishes notices. AMQP_URL and
    INTERNAL_TOKEN_SECRET are read by nameko and omnistock_common.config."""

    redis_url: str = "redis://127.0.0.1:6379/0"


def load_live_relay_settings(environ: Mapping[str, str] | None = None) -> LiveRelaySettings:
    """REDIS_URL: the Redis every gateway reads (the gateway's own REDIS_URL)."""
    env = EnvReader(environ)
    settings = LiveRelaySettings(redis_url=env.redis_url("REDIS_URL"))
    env.raise_if_invalid()
    return settings
