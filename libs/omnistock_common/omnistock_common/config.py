"""Typed settings read from the environment, validated once at start-up.

Every setting has a default that works on a developer laptop; a value that is present but
invalid stops the process with a message naming the variable. Only this module reads os.environ.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlparse

# Default ports of the local topology (make run, docker-compose, k8s Services): generated from
# deploy/deployables.toml by `make generate`, re-exported here where settings use them.
from omnistock_common.topology import DEFAULT_GATEWAY_PORT as DEFAULT_GATEWAY_PORT
from omnistock_common.topology import DEFAULT_GRPC_PORTS as DEFAULT_GRPC_PORTS
from omnistock_common.topology import DEFAULT_SANDBOX_PORTS as DEFAULT_SANDBOX_PORTS

T = TypeVar("T")

# OMNISTOCK_ENV=production turns every development default below into a start-up error (exit 2).
ENV_VAR = "OMNISTOCK_ENV"
ENVIRONMENTS = ("development", "production")
# What each gRPC process connects to, so production mode judges only the URLs a process uses
# (the connectors have no database; only the channels and the connectors use Redis).
SERVICE_BACKENDS: dict[str, frozenset[str]] = {
    "catalog": frozenset({"database"}),
    "inventory": frozenset({"database"}),
    "orders": frozenset({"database"}),
    "pricing": frozenset({"database"}),
    "channels": frozenset({"database", "redis"}),
    "shopify_connector": frozenset({"redis"}),
    "woocommerce_connector": frozenset({"redis"}),
}
# Values shipped in this repository (docker-compose.yml, make run, the sandboxes) that are public
# and therefore never secret. Besides these, anything containing "dev-only" or starting with
# "dev-" counts as a development value: give new compose/dev values such a marker.
DEV_VALUES: set[str] = {
    "compose-dev:Y29tcG9zZS1kZXYtb25seS1jcmVkZW50aWFscy1rZXk=",
    "sandbox-shopify-client-id",
    "sandbox-shopify-client-secret",
    "guest",
}


class ConfigError(ValueError):
    """Raised at start-up when one or more environment variables are invalid."""


def project_root() -> Path:
    """The repository root (where var/ lives for local SQLite files)."""
    return Path(__file__).resolve().parents[3]


def is_dev_value(value: str) -> bool:
    """True for a value anyone can read in this repository (see DEV_VALUES)."""
    lowered = value.strip().lower()
    return value in DEV_VALUES or "dev-only" in lowered or lowered.startswith("dev-")


class EnvReader:
    """Reads typed values from a mapping and collects every problem before failing.

    `secret()` and the URL readers also remember which variables hold a development value; under
    OMNISTOCK_ENV=production `raise_if_invalid()` names each of them and refuses to go on.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._env = os.environ if environ is None else environ
        self.problems: list[str] = []
        # variable -> why its value is a development one
        self.dev_values: dict[str, str] = {}
        self.environment = self.choice(ENV_VAR, "development", ENVIRONMENTS)

    @property
    def production(self) -> bool:
        return self.environment == "production"

    def mark_dev(self, name: str, why: str) -> None:
        """Record that `name` holds a development value (refused under production)."""
        self.dev_values.setdefault(name, why)

    def secret(self, name: str, dev_default: str, *, separator: str | None = None) -> str:
        """A secret with a built-in development default, e.g. `env.secret("X_SECRET", DEV_X)`.

        Unset, equal to `dev_default`, or a public development value (is_dev_value; with
        `separator`, any one of its parts) marks the variable as a development value."""
        value = self.str(name, dev_default)
        parts = value.split(separator) if separator else [value]
        if value == dev_default:
            self.mark_dev(name, "is unset or the built-in development default")
        elif any(is_dev_value(part.strip()) for part in parts if part.strip()):
            self.mark_dev(name, "is a development value from this repository")
        return value

    def database_url(self, name: str, default: str) -> str:
        """A service database: SQLite or a development password is a development value."""
        value = self.url(name, default, schemes=("sqlite", "postgresql"))
        parsed = urlparse(value)
        if parsed.scheme.startswith("sqlite"):
            self.mark_dev(name, "is a SQLite file (production needs PostgreSQL)")
        elif parsed.password is not None and is_dev_value(parsed.password):
            self.mark_dev(name, "has a development password")
        return value

    def redis_url(self, name: str = "REDIS_URL", default: str = "redis://127.0.0.1:6379/0") -> str:
        """Redis without a password (or with a development one) is a development value."""
        value = self.url(name, default, schemes=("redis", "rediss"))
        password = urlparse(value).password
        if not password or is_dev_value(password):
            self.mark_dev(name, "has no password")
        return value

    def amqp_url(self, name: str = "AMQP_URL", default: str = "amqp://guest:guest@127.0.0.1:5672/") -> str:
        """RabbitMQ's guest account, no password or a development password is a development value."""
        value = self.url(name, default, schemes=("amqp", "amqps"))
        parsed = urlparse(value)
        if parsed.username in (None, "", "guest") or not parsed.password or is_dev_value(parsed.password):
            self.mark_dev(name, "uses the guest account or no/a development password")
        return value

    def str(self, name: str, default: str) -> str:
        value = self._env.get(name)
        return default if value is None or value == "" else value

    def int(self, name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
        raw = self._env.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            self.problems.append(f"{name}={raw!r} is not an integer")
            return default
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            self.problems.append(f"{name}={value} is outside [{minimum}, {maximum}]")
        return value

    def float(
        self, name: str, default: float, *, minimum: float | None = None, maximum: float | None = None
    ) -> float:
        raw = self._env.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = float(raw)
        except ValueError:
            self.problems.append(f"{name}={raw!r} is not a number")
            return default
        if minimum is not None and value < minimum:
            self.problems.append(f"{name}={value} is below {minimum}")
        if maximum is not None and value > maximum:
            self.problems.append(f"{name}={value} is above {maximum}")
        return value

    def bool(self, name: str, default: bool) -> bool:
        raw = self._env.get(name)
        if raw is None or raw == "":
            return default
        lowered = raw.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        self.problems.append(f"{name}={raw!r} is not a boolean (true/false)")
        return default

    def url(self, name: str, default: str, *, schemes: tuple[str, ...]) -> str:
        value = self.str(name, default)
        scheme = urlparse(value).scheme
        if not any(scheme == s or scheme.startswith(s + "+") for s in schemes):
            self.problems.append(f"{name}={value!r} must be a URL with scheme {', '.join(schemes)}")
        return value

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.str(name, default)
        if value not in choices:
            self.problems.append(f"{name}={value!r} must be one of {', '.join(choices)}")
        return value

    def raise_if_invalid(self) -> None:
        problems = list(self.problems)
        if self.production:
            problems += [
                f"{name} {why} (refused: {ENV_VAR}=production)" for name, why in self.dev_values.items()
            ]
        if problems:
            raise ConfigError("invalid configuration: " + "; ".join(problems))


def default_sqlite_url(service: str) -> str:
    var = project_root() / "var"
    return f"sqlite:///{var / f'{service}.db'}"


def service_addr(env: EnvReader, service: str) -> str:
    """host:port of another service's gRPC server (e.g. CATALOG_ADDR)."""
    return env.str(f"{service.upper()}_ADDR", f"127.0.0.1:{DEFAULT_GRPC_PORTS[service]}")


@dataclass(frozen=True)
class ServiceSettings:
    """What every gRPC service process needs."""

    service: str
    grpc_host: str
    grpc_port: int
    database_url: str
    redis_url: str
    amqp_url: str
    log_level: str
    log_format: str
    grace_seconds: float
    max_workers: int

    @classmethod
    def read(cls, service: str, env: EnvReader) -> ServiceSettings:
        prefix = service.upper()
        # Production mode judges only what this process connects to (SERVICE_BACKENDS); the
        # nameko workers check AMQP_URL themselves (check_amqp_url).
        uses = SERVICE_BACKENDS.get(service, frozenset({"database", "redis"}))
        if "database" in uses:
            database_url = env.database_url(f"{prefix}_DATABASE_URL", default_sqlite_url(service))
        else:
            database_url = env.url(
                f"{prefix}_DATABASE_URL", default_sqlite_url(service), schemes=("sqlite", "postgresql")
            )
        if "redis" in uses:
            redis_url = env.redis_url("REDIS_URL")
        else:
            redis_url = env.url("REDIS_URL", "redis://127.0.0.1:6379/0", schemes=("redis", "rediss"))
        return cls(
            service=service,
            grpc_host=env.str(f"{prefix}_GRPC_HOST", "127.0.0.1"),
            grpc_port=env.int(f"{prefix}_GRPC_PORT", DEFAULT_GRPC_PORTS[service], minimum=0, maximum=65535),
            database_url=database_url,
            redis_url=redis_url,
            amqp_url=env.url("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/", schemes=("amqp", "amqps")),
            log_level=env.choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")),
            log_format=env.choice("LOG_FORMAT", "json", ("json", "text")),
            grace_seconds=env.float("GRPC_GRACE_SECONDS", 10.0, minimum=0),
            max_workers=env.int(f"{prefix}_GRPC_WORKERS", 16, minimum=1, maximum=1024),
        )

    @property
    def bind_address(self) -> str:
        return f"{self.grpc_host}:{self.grpc_port}"


_DbSettings = TypeVar("_DbSettings", bound="DatabaseSettings")


@dataclass(frozen=True, kw_only=True)
class DatabaseSettings:
    """Base of the Settings dataclass of a service that owns a database: its server settings and
    the connections each process holds (`read_db_pool_size`; several replicas share one
    PostgreSQL), and the URL its composition root reads. Keyword-only, so a service's own fields
    (with or without defaults) follow in any order."""

    server: ServiceSettings
    db_pool_size: int = 10

    @property
    def database_url(self) -> str:
        return self.server.database_url

    @classmethod
    def load(
        cls: type[_DbSettings],
        service: str,
        environ: Mapping[str, str] | None,
        own: Callable[[EnvReader], Mapping[str, Any]],
    ) -> _DbSettings:
        """The server settings, the pool size and the service's own fields (`own` reads them);
        raises ConfigError naming every bad variable at once."""
        env = EnvReader(environ)
        settings = cls(
            server=ServiceSettings.read(service, env),
            db_pool_size=read_db_pool_size(env, service),
            **own(env),
        )
        env.raise_if_invalid()
        return settings


def read_db_pool_size(env: EnvReader, service: str) -> int:
    """`<SERVICE>_DB_POOL_SIZE`: connections held by each process (several replicas share one
    PostgreSQL, so the default stays small)."""
    return env.int(f"{service.upper()}_DB_POOL_SIZE", 10, minimum=1, maximum=200)


def load_service_settings(service: str, environ: Mapping[str, str] | None = None) -> ServiceSettings:
    env = EnvReader(environ)
    settings = ServiceSettings.read(service, env)
    env.raise_if_invalid()
    return settings


def check_amqp_url(environ: Mapping[str, str] | None = None) -> str:
    """AMQP_URL as a nameko worker uses it; raises ConfigError (production: guest/guest refused)."""
    env = EnvReader(environ)
    url = env.amqp_url("AMQP_URL")
    env.raise_if_invalid()
    return url


def _program() -> str:
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return spec.name if spec is not None else Path(sys.argv[0]).name


def exit_on_config_error(check: Callable[[], T], *, code: int = 2) -> T:
    """For processes that do not start through run_entrypoint (nameko workers, the gateway under
    gunicorn): run `check`; a ConfigError prints one line and exits `code` before anything serves."""
    try:
        return check()
    except ConfigError as exc:
        print(f"{_program()}: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(code) from None


def run_entrypoint(main: Callable[[], int | None]) -> NoReturn:
    """Run a process's main(); a configuration error exits 2 with one clear line, no traceback."""
    try:
        code = main()
    except ConfigError as exc:
        print(f"{_program()}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    raise SystemExit(code or 0)


# The development default of INTERNAL_TOKEN_SECRET: known to everyone who reads this file, so
# OMNISTOCK_ENV=production refuses it (and any other development value, see EnvReader.secret).
DEV_INTERNAL_TOKEN_SECRET = "omnistock-development-internal-token-secret-not-for-production"


@dataclass(frozen=True)
class InternalAuthSettings:
    """Service-to-service identity (omnistock_common.service_auth) and gRPC reflection."""

    token_secret: str
    reflection: bool
    # The secret is the built-in default or another public development value (compose's).
    uses_dev_secret: bool = False


def load_internal_auth_settings(environ: Mapping[str, str] | None = None) -> InternalAuthSettings:
    """INTERNAL_TOKEN_SECRET (>= 32 characters; the same value in every process; a development
    value is refused under OMNISTOCK_ENV=production) and GRPC_REFLECTION (default true; "false"
    turns server reflection off)."""
    env = EnvReader(environ)
    secret = env.secret("INTERNAL_TOKEN_SECRET", DEV_INTERNAL_TOKEN_SECRET)
    if len(secret) < 32:
        env.problems.append("INTERNAL_TOKEN_SECRET must be at least 32 characters")
    settings = InternalAuthSettings(
        token_secret=secret,
        reflection=env.bool("GRPC_REFLECTION", True),
        uses_dev_secret="INTERNAL_TOKEN_SECRET" in env.dev_values,
    )
    env.raise_if_invalid()
    return settings
