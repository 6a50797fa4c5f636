"""The registry's data: deploy/deployables.toml loaded into Deployables and checked for consistency."""

from __future__ import annotations

import re
import shlex
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

# The repo root when run from the source tree; the Dockerfile copies this package elsewhere and
# passes --root.
_HERE = Path(__file__).resolve()
ROOT = _HERE.parents[4] if len(_HERE.parents) > 4 else Path.cwd()
REGISTRY_PATH = Path("deploy/deployables.toml")
KINDS = ("gateway", "grpc", "worker", "connector", "sandbox")
GRPC_KINDS = ("grpc", "connector")
GENERATED_HEADER = (
    "# GENERATED from deploy/deployables.toml by `make generate`: edit the registry, not this file."
)
REGION_BEGIN = "# BEGIN GENERATED {name} (make generate)"
REGION_END = "# END GENERATED {name}"
PRESTOP_SECONDS = 5
UID = 10001
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


class RegistryError(ValueError):
    """The registry is inconsistent; the message lists every problem."""


@dataclass(frozen=True)
class Deployable:
    """One process: what runs, where it listens, what it owns, calls and reads."""

    name: str
    kind: str
    description: str
    command: str
    image: str
    container_command: tuple[str, ...]
    port: int | None = None
    port_env: str | None = None
    database: str | None = None
    calls: tuple[str, ...] = ()
    config: tuple[str, ...] = ()
    secrets: Mapping[str, str] = field(default_factory=dict)
    optional_secrets: Mapping[str, str] = field(default_factory=dict)
    files: tuple[str, ...] = ()
    replicas: Mapping[str, int] = field(default_factory=dict)
    resources: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    termination_grace_seconds: int = 30
    tmp_size: str | None = None
    # Connectors only: the channel types (channels' CHANNEL_TYPES keys) this connector speaks.
    channel_types: tuple[str, ...] = ()

    @property
    def env_prefix(self) -> str:
        """`shopify-connector` -> `SHOPIFY_CONNECTOR` (its settings prefix)."""
        return self.name.replace("-", "_").upper()

    @property
    def service_key(self) -> str:
        """`shopify-connector` -> `shopify_connector`: its key in omnistock_common's
        DEFAULT_GRPC_PORTS and the service name its settings are read under."""
        return self.env_prefix.lower()

    @property
    def package(self) -> str:
        """The top-level Python package it runs (`catalog.server` -> `catalog`)."""
        return self.module.split(".")[0]

    @property
    def component(self) -> str:
        return "worker" if self.kind == "worker" else "server"

    @property
    def in_kubernetes(self) -> bool:
        return self.kind != "sandbox"

    @property
    def is_grpc(self) -> bool:
        return self.kind in GRPC_KINDS

    @property
    def module(self) -> str:
        """The Python module the command runs (`-m X`, nameko's service module, gunicorn's app)."""
        argv = shlex.split(self.command)
        if "-m" in argv:
            return argv[argv.index("-m") + 1]
        if argv[:2] == ["nameko", "run"]:
            return argv[-1].split(":")[0]
        if argv[0] == "gunicorn":
            return argv[-1].split(":")[0]
        raise RegistryError(f"{self.name}: cannot tell which module `{self.command}` runs")

    def secret_env(self, project: Mapping[str, Any]) -> dict[str, str]:
        """Env var -> Secret key for the long-running container (database, common, own)."""
        env: dict[str, str] = {}
        if self.database:
            env[f"{self.database.upper()}_DATABASE_URL"] = f"{self.database}-database-url"
        if self.kind != "sandbox":
            env.update(project.get("common_secrets", {}))
        env.update(self.secrets)
        return env

    def container_probe(self) -> list[str]:
        """The healthcheck command of this process in a container (compose, the image)."""
        probe = ["python", "-m", "omnistock_cli.probe"]
        if self.is_grpc:
            return [*probe, "grpc", f"127.0.0.1:{self.port}"]
        if self.kind == "worker":
            return [*probe, "amqp-connected"]
        if self.kind == "gateway":
            return [*probe, "http", f"http://127.0.0.1:{self.port}/readyz"]
        return [*probe, "http", f"http://127.0.0.1:{self.port}/_sandbox/config"]


@dataclass(frozen=True)
class Registry:
    project: Mapping[str, Any]
    deployables: tuple[Deployable, ...]
    secrets: Mapping[str, Mapping[str, str]]
    config: Mapping[str, Mapping[str, str]]
    compose_env: Mapping[str, str]
    compose_common_env: Mapping[str, str]
    overlays: Mapping[str, Mapping[str, str]]

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, path: Path | None = None) -> Registry:
        path = path or ROOT / REGISTRY_PATH
        with path.open("rb") as handle:
            return cls.from_dict(tomllib.load(handle))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Registry:
        deployables = []
        for entry in data.get("deployable", []):
            entry = dict(entry)
            command = entry["command"]
            deployables.append(
                Deployable(
                    name=entry.pop("name"),
                    kind=entry.pop("kind"),
                    description=entry.pop("description", ""),
                    command=entry.pop("command"),
                    image=entry.pop("image", None) or "",
                    container_command=tuple(entry.pop("container_command", None) or shlex.split(command)),
                    calls=tuple(entry.pop("calls", ())),
                    config=tuple(entry.pop("config", ())),
                    files=tuple(entry.pop("files", ())),
                    channel_types=tuple(entry.pop("channel_types", ())),
                    **entry,
                )
            )
        deployables = [d if d.image else _with(d, image=d.name) for d in deployables]
        registry = cls(
            project=data.get("project", {}),
            deployables=tuple(deployables),
            secrets=data.get("secrets", {}),
            config=data.get("config", {}),
            compose_env=data.get("compose", {}).get("env", {}),
            compose_common_env=data.get("compose", {}).get("common_env", {}),
            overlays=data.get("overlays", {}),
        )
        problems = registry.problems()
        if problems:
            raise RegistryError("deploy/deployables.toml: " + "; ".join(problems))
        return registry

    # ------------------------------------------------------------------ queries
    def get(self, name: str) -> Deployable:
        for deployable in self.deployables:
            if deployable.name == name:
                return deployable
        raise KeyError(name)

    def backends_of(self, caller: Deployable, running: Iterable[str] | None = None) -> list[str]:
        """The service names (GATEWAY_BACKENDS' form: `catalog`, `shopify_connector`) of what
        `caller` calls, limited to the deployables in `running` when given: a gateway started
        with part of the stack is ready when that part is."""
        wanted = None if running is None else set(running)
        return [
            self.get(callee).env_prefix.lower()
            for callee in caller.calls
            if wanted is None or callee in wanted
        ]

    def of_kind(self, *kinds: str) -> list[Deployable]:
        return [d for d in self.deployables if d.kind in kinds]

    @property
    def grpc(self) -> list[Deployable]:
        return self.of_kind(*GRPC_KINDS)

    @property
    def kubernetes(self) -> list[Deployable]:
        return [d for d in self.deployables if d.in_kubernetes]

    @property
    def databases(self) -> list[str]:
        """Databases in registry order, each once (what `migrate_all` brings to head)."""
        return list(dict.fromkeys(d.database for d in self.deployables if d.database))

    @property
    def images(self) -> list[str]:
        return list(dict.fromkeys(d.image for d in self.deployables))

    def image_deployables(self, image: str) -> list[Deployable]:
        return [d for d in self.deployables if d.image == image]

    def callers_of(self, name: str) -> list[Deployable]:
        return [d for d in self.deployables if name in d.calls]

    def image_name(self, image: str) -> str:
        return f"{self.project.get('image_prefix', 'omnistock/')}{image}"

    @property
    def secret_name(self) -> str:
        return str(self.project.get("secret_name", "omnistock-secrets"))

    @property
    def planned_grpc_ports(self) -> dict[str, int]:
        """Ports promised to gRPC services not in the registry yet (project.planned_grpc_ports),
        so a caller written before its callee has a default; a deployable of that name replaces
        its plan."""
        built = {d.service_key for d in self.grpc}
        return {k: int(v) for k, v in self.project.get("planned_grpc_ports", {}).items() if k not in built}

    @property
    def default_grpc_ports(self) -> dict[str, int]:
        """Service key -> port of every gRPC deployable and planned service, by port."""
        ports = {d.service_key: int(d.port) for d in self.grpc if d.port is not None}
        ports.update(self.planned_grpc_ports)
        return dict(sorted(ports.items(), key=lambda item: (item[1], item[0])))

    @property
    def connector_services(self) -> dict[str, str]:
        """Channel type -> the service key of the connector that speaks it."""
        return {t: d.service_key for d in self.of_kind("connector") for t in d.channel_types}

    def database_role(self, database: str) -> tuple[str, str]:
        """(role, dev password) of a database, from its `<db>-database-url` dev value."""
        url = urlparse(self.secrets.get(f"{database}-database-url", {}).get("dev", ""))
        return url.username or "", url.password or ""

    def effective_config(self, deployable: Deployable) -> dict[str, str]:
        """The non-secret env of a deployable: omnistock-common, then its ConfigMaps in order."""
        env: dict[str, str] = {}
        for name in ("omnistock-common", *deployable.config):
            env.update(self.config.get(name, {}))
        return env

    def problems(self) -> list[str]:
        """Everything that would make a generated file wrong, as readable sentences."""
        out: list[str] = []
        names = [d.name for d in self.deployables]
        by_name = {d.name: d for d in self.deployables}
        out += [f"deployable {n!r} is listed twice" for n in sorted({n for n in names if names.count(n) > 1})]
        ports = [d.port for d in self.deployables if d.port is not None]
        out += [f"port {p} is used twice" for p in sorted({p for p in ports if ports.count(p) > 1})]
        for service, port in self.planned_grpc_ports.items():
            if port in ports:
                out.append(f"port {port} is planned for {service!r} (project.planned_grpc_ports) and used")
        out += self._connector_problems() + self._database_problems()
        for d in self.deployables:
            where = f"deployable {d.name!r}"
            if d.kind not in KINDS:
                out.append(f"{where}: kind {d.kind!r} is not one of {', '.join(KINDS)}")
                continue
            if d.kind == "worker" and d.port is not None:
                out.append(f"{where}: a worker serves no port")
            if d.kind != "worker" and d.port is None:
                out.append(f"{where}: a {d.kind} needs a port")
            if d.image not in by_name or by_name[d.image].image != d.image:
                out.append(f"{where}: image {d.image!r} is not a deployable that builds its own image")
            elif d.kind != "sandbox" and by_name[d.image].kind == "sandbox":
                out.append(f"{where}: runs the image of a sandbox")
            for callee in d.calls:
                if callee not in by_name or not by_name[callee].is_grpc:
                    out.append(f"{where}: calls {callee!r}, which is not a grpc service or connector")
                    continue
                addr = self.effective_config(d).get(f"{by_name[callee].env_prefix}_ADDR")
                if d.kind != "sandbox" and addr != f"{callee}:{by_name[callee].port}":
                    out.append(
                        f"{where}: its config must set {by_name[callee].env_prefix}_ADDR={callee}:{by_name[callee].port}"
                    )
            if d.kind != "sandbox":
                for key, value in self.effective_config(d).items():
                    if key.endswith("_ADDR") and value.split(":")[0] not in d.calls:
                        out.append(f"{where}: {key}={value} names a deployable missing from its calls")
            for config in d.config:
                if config not in self.config:
                    out.append(f"{where}: no [config.{config}] table")
            for env, key in {**d.secret_env(self.project), **d.optional_secrets}.items():
                if key not in self.secrets and key not in d.optional_secrets.values():
                    out.append(f"{where}: {env} names secret key {key!r}, missing from [secrets]")
            if d.is_grpc:
                config = self.effective_config(d)
                if config.get(f"{d.env_prefix}_GRPC_PORT") != str(d.port):
                    out.append(f"{where}: its config must set {d.env_prefix}_GRPC_PORT={d.port!r}")
                if config.get(f"{d.env_prefix}_GRPC_HOST") != "0.0.0.0":
                    out.append(f"{where}: its config must set {d.env_prefix}_GRPC_HOST=0.0.0.0")
            if d.in_kubernetes and not {"min", "max"} <= set(d.replicas):
                out.append(f"{where}: replicas needs min and max")
            if d.in_kubernetes and not {"requests", "limits"} <= set(d.resources):
                out.append(f"{where}: resources needs requests and limits")
            if d.port_env is None and d.kind in ("sandbox", "gateway"):
                out.append(f"{where}: a {d.kind} needs port_env (make run and the tests move it)")
            try:
                _ = d.module
            except RegistryError as exc:
                out.append(str(exc))
        return out

    def _connector_problems(self) -> list[str]:
        out = []
        claimed: dict[str, str] = {}
        for d in self.deployables:
            where = f"deployable {d.name!r}"
            if d.kind == "connector" and not d.channel_types:
                out.append(f'{where}: a connector needs channel_types (e.g. channel_types = ["etsy"])')
            if d.kind != "connector" and d.channel_types:
                out.append(f"{where}: only a connector has channel_types")
            for channel_type in d.channel_types:
                if not _IDENTIFIER.fullmatch(channel_type):
                    out.append(f"{where}: channel type {channel_type!r} must be lower-case letters/digits/_")
                if channel_type in claimed:
                    out.append(
                        f"channel type {channel_type!r} is spoken by {claimed[channel_type]!r} and {d.name!r}"
                    )
                claimed[channel_type] = d.name
        return out

    def _database_problems(self) -> list[str]:
        """create-databases.sql is written from these names: they must be plain identifiers."""
        out = []
        for database in self.databases:
            if f"{database}-database-url" not in self.secrets:
                continue  # reported as a missing secret key
            role, password = self.database_role(database)
            url = urlparse(self.secrets.get(f"{database}-database-url", {}).get("dev", ""))
            if not _IDENTIFIER.fullmatch(database):
                out.append(f"database {database!r} must be lower-case letters/digits/_")
            if not _IDENTIFIER.fullmatch(role) or not password or "'" in password:
                out.append(
                    f"[secrets] {database}-database-url needs a dev URL with a role and a password "
                    f"(postgresql://{database}:{database}-dev-only@postgres:5432/{database})"
                )
            elif url.path != f"/{database}":
                out.append(f"[secrets] {database}-database-url must name the database {database!r}")
        return out


def _with(deployable: Deployable, **changes: Any) -> Deployable:
    from dataclasses import replace

    return replace(deployable, **changes)
