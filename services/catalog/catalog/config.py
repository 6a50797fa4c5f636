"""Catalog settings: the only module of the service that reads the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from omnistock_common.config import EnvReader, ServiceSettings, service_addr


@dataclass(frozen=True)
class Settings:
    """Everything the catalog server process needs, validated once at start-up."""

    service: ServiceSettings
    # host:port of the inventory gRPC server (initial stock of imported rows goes there).
    inventory_addr: str
    # Deadline of one BatchAdjust call made during an import.
    inventory_timeout_seconds: float

    @property
    def database_url(self) -> str:
        return self.service.database_url

    @property
    def bind_address(self) -> str:
        return self.service.bind_address


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings; raises ConfigError naming every bad variable."""
    env = EnvReader(environ)
    settings = Settings(
        service=ServiceSettings.read("catalog", env),
        inventory_addr=service_addr(env, "inventory"),
        inventory_timeout_seconds=env.float("CATALOG_INVENTORY_TIMEOUT_SECONDS", 10.0, minimum=0.1),
    )
    env.raise_if_invalid()
    return settings
