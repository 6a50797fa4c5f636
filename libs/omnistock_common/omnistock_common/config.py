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
from typing import NoReturn
from urllib.parse import urlparse

# Default ports of the local topology (make run, docker-compose, k8s Services).
DEFAULT_GRPC_PORTS: dict[str, int] = {
    "catalog": 50051,
    "inventory": 50052,
    "orders": 50053,
    "pricing": 50054,
    "channels": 50055,
    "shopify_connector": 50061,
    "woocommerce_connector": 50062,
}
# Local HTTP ports of the channel sandboxes started by `make run`.
DEFAULT_SANDBOX_PORTS: dict[str, int] = {"shopify": 8701, "woocommerce": 8702}
DEFAULT_GATEWAY_PORT = 8080


class ConfigError(ValueError):
    """Raised at start-up when one or more environment variables are invalid."""


def project_root() -> Path:
    """The repository root (where var/ lives for local SQLite files)."""
    return Path(__file__).resolve().parents[3]


class EnvReader:
    """Reads typed values from a mapping and collects every problem before failing."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._env = os.environ if environ is None else environ
        self.problems: list[str] = []

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

    def float(self, name: str, default: float, *, minimum: float | None = None) -> float:
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
        if self.problems:
            raise ConfigError("invalid configuration: " + "; ".join(self.problems))


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
        return cls(
            service=service,
            grpc_host=env.str(f"{prefix}_GRPC_HOST", "127.0.0.1"),
            grpc_port=env.int(f"{prefix}_GRPC_PORT", DEFAULT_GRPC_PORTS[service], minimum=0, maximum=65535),
            database_url=env.url(
                f"{prefix}_DATABASE_URL", default_sqlite_url(service), schemes=("sqlite", "postgresql")
            ),
            redis_url=env.url("REDIS_URL", "redis://127.0.0.1:6379/0", schemes=("redis", "rediss")),
            amqp_url=env.url("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/", schemes=("amqp", "amqps")),
            log_level=env.choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")),
            log_format=env.choice("LOG_FORMAT", "json", ("json", "text")),
            grace_seconds=env.float("GRPC_GRACE_SECONDS", 10.0, minimum=0),
            max_workers=env.int(f"{prefix}_GRPC_WORKERS", 16, minimum=1, maximum=1024),
        )

    @property
    def bind_address(self) -> str:
        return f"{self.grpc_host}:{self.grpc_port}"


def load_service_settings(service: str, environ: Mapping[str, str] | None = None) -> ServiceSettings:
    env = EnvReader(environ)
    settings = ServiceSettings.read(service, env)
    env.raise_if_invalid()
    return settings


def run_entrypoint(main: Callable[[], int | None]) -> NoReturn:
    """Run a process's main(); a configuration error exits 2 with one clear line, no traceback."""
    try:
        code = main()
    except ConfigError as exc:
        spec = getattr(sys.modules.get("__main__"), "__spec__", None)
        program = spec.name if spec is not None else Path(sys.argv[0]).name
        print(f"{program}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    raise SystemExit(code or 0)


# The development default of INTERNAL_TOKEN_SECRET: known to everyone who reads this file, so a
# production deployment must set its own (a production-mode check refuses this value).
DEV_INTERNAL_TOKEN_SECRET = "omnistock-development-internal-token-secret-not-for-production"


@dataclass(frozen=True)
class InternalAuthSettings:
    """Service-to-service identity (omnistock_common.service_auth) and gRPC reflection."""

    token_secret: str
    reflection: bool

    @property
    def uses_dev_secret(self) -> bool:
        return self.token_secret == DEV_INTERNAL_TOKEN_SECRET


def load_internal_auth_settings(environ: Mapping[str, str] | None = None) -> InternalAuthSettings:
    """INTERNAL_TOKEN_SECRET (>= 32 characters; the same value in every process) and
    GRPC_REFLECTION (default true; "false" turns server reflection off)."""
    env = EnvReader(environ)
    secret = env.str("INTERNAL_TOKEN_SECRET", DEV_INTERNAL_TOKEN_SECRET)
    if len(secret) < 32:
        env.problems.append("INTERNAL_TOKEN_SECRET must be at least 32 characters")
    settings = InternalAuthSettings(token_secret=secret, reflection=env.bool("GRPC_REFLECTION", True))
    env.raise_if_invalid()
    return settings
