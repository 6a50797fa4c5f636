"""The registry of deployables (deploy/deployables.toml) and everything generated from it.

One entry per process; the Procfile, docker-compose.yml, the Kubernetes base, the prod
PodDisruptionBudgets, the dev overlay's Secret and the overlays' image lists are rendered from
it, so adding a deployable is one entry plus `make generate`. `check` reports generated files
that are stale (tests/deploy runs it). `image <name>` is what the Dockerfile's builder stage
runs: it only needs the standard library, so this module imports nothing of ours at the top.

    python -m omnistock_devtools.registry generate   # rewrite the generated files
    python -m omnistock_devtools.registry check      # exit 1 naming each stale file
    python -m omnistock_devtools.registry image catalog --app /app --bin /opt/venv/bin
    python -m omnistock_devtools.registry imports catalog   # each module of that image imports
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

# The repo root when run from the source tree; the Dockerfile copies this file elsewhere and
# passes --root.
_HERE = Path(__file__).resolve()
ROOT = _HERE.parents[3] if len(_HERE.parents) > 3 else Path.cwd()
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

    @property
    def env_prefix(self) -> str:
        """`shopify-connector` -> `SHOPIFY_CONNECTOR` (its settings prefix)."""
        return self.name.replace("-", "_").upper()

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


def _with(deployable: Deployable, **changes: Any) -> Deployable:
    from dataclasses import replace

    return replace(deployable, **changes)


# =========================================================================== rendering helpers
def _dump(doc: Any) -> str:
    """Block-style YAML without anchors (shared dicts are written out each time)."""
    import yaml

    class _Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    def _list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.SequenceNode:
        # Commands and port lists read best on one line; lists of mappings stay in block style.
        flow = bool(value) and all(isinstance(item, str | int) for item in value)
        return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)

    _Dumper.add_representer(list, _list)
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=110)


def _yaml_docs(docs: Iterable[tuple[str, dict[str, Any]]], header: str) -> str:
    """YAML documents, each after its comment lines, under the generated-file header."""
    parts = []
    for comment, doc in docs:
        lines = "".join(f"# {line}".rstrip() + "\n" for line in comment.splitlines() if comment)
        parts.append(lines + _dump(doc))
    return f"{GENERATED_HEADER}\n{_comment(header)}" + "---\n".join(parts)


def _comment(text: str) -> str:
    return "".join(f"# {line}".rstrip() + "\n" for line in text.strip().splitlines())


def _labels(d: Deployable) -> dict[str, str]:
    return {"app.kubernetes.io/name": d.image, "app.kubernetes.io/component": d.component}


# ================================================================================ Procfile
def render_procfile(reg: Registry) -> str:
    lines = [
        GENERATED_HEADER,
        "# Local process list for `make run` (omnistock_devtools.devrun runs it with honcho) and the",
        "# full-stack harness (omnistock_devtools.fullstack). devrun exports the ports used below.",
    ]
    lines += [f"{d.name}: {d.command}" for d in reg.deployables]
    return "\n".join(lines) + "\n"


# ========================================================================== docker-compose
def _dev_secret(reg: Registry, key: str) -> str:
    entry = reg.secrets[key]
    if "compose_env" in entry:
        return f"${{{entry['compose_env']}:-{entry['dev']}}}"
    return entry["dev"]


def compose_environment(reg: Registry, d: Deployable) -> dict[str, str]:
    """What a compose service gets: the same ConfigMap values as k8s, dev secrets, overrides."""
    env = reg.effective_config(d) if d.kind != "sandbox" else {}
    for key, value in reg.compose_env.items():
        if key in env:
            env[key] = value
    if d.kind != "sandbox":
        env.update(reg.compose_common_env)
    for name, key in d.secret_env(reg.project).items():
        env[name] = _dev_secret(reg, key)
    return env


def render_compose(reg: Registry) -> str:
    redis = urlparse(reg.secrets["redis-url"]["dev"])
    amqp = urlparse(reg.secrets["amqp-url"]["dev"])
    services: dict[str, Any] = {
        "postgres": {
            "image": "postgres:16",
            "environment": {"POSTGRES_PASSWORD": "postgres-dev-only"},
            "volumes": [
                "postgres-data:/var/lib/postgresql/data",
                "./k8s/postgres/create-databases.sql:/docker-entrypoint-initdb.d/10-create-databases.sql:ro",
            ],
            # Over TCP: during first-start initialisation postgres listens on its socket only.
            "healthcheck": {
                "test": ["CMD-SHELL", "pg_isready -h 127.0.0.1 -U postgres -d gateway"],
                **_timing(5, 3, 20),
            },
        },
        "redis": {
            "image": "redis:7",
            "command": ["redis-server", "--requirepass", redis.password],
            "environment": {"REDISCLI_AUTH": redis.password},
            "healthcheck": {"test": ["CMD", "redis-cli", "ping"], **_timing(5, 3, 20)},
        },
        "rabbitmq": {
            "image": "rabbitmq:3-management",
            "environment": {
                "RABBITMQ_DEFAULT_USER": amqp.username,
                "RABBITMQ_DEFAULT_PASS": amqp.password,
                "RABBITMQ_DEFAULT_VHOST": amqp.path.lstrip("/") or "/",
            },
            "ports": ["127.0.0.1:15672:15672"],
            "healthcheck": {
                "test": ["CMD", "rabbitmq-diagnostics", "-q", "ping"],
                **_timing(10, 10, 20),
                "start_period": "20s",
            },
        },
        "migrate": {
            **_build(reg, "gateway"),
            "command": ["python", "-m", "omnistock_common.migrate_all", *reg.databases],
            "environment": {
                "LOG_LEVEL": reg.config["omnistock-common"]["LOG_LEVEL"],
                "LOG_FORMAT": reg.config["omnistock-common"]["LOG_FORMAT"],
                **{
                    f"{db.upper()}_DATABASE_URL": reg.secrets[f"{db}-database-url"]["dev"]
                    for db in reg.databases
                },
                **reg.compose_common_env,
            },
            "healthcheck": {"disable": True},
            "restart": "no",
            "depends_on": {"postgres": {"condition": "service_healthy"}},
        },
    }
    for d in reg.deployables:
        services[d.name] = _compose_service(reg, d)
    header = (
        "OmniStock on a laptop with Docker: the production topology (one container per process,\n"
        "PostgreSQL with one database per service, Redis and RabbitMQ with passwords), DEV-ONLY\n"
        "passwords and keys (override the `${VAR:-...}` ones in your shell; with\n"
        "OMNISTOCK_ENV=production in your shell the processes refuse these dev values).\n"
        "  docker compose up --build -d                  # or: make up\n"
        "  docker compose --profile demo up --build -d   # + the Shopify/WooCommerce sandboxes\n"
        "  open http://127.0.0.1:8080/api/v1/docs\n"
        "Migrations run once in the `migrate` service before anything serves. See docs/deploy.md."
    )
    body = _dump({"name": "omnistock", "services": services, "volumes": {"postgres-data": None}})
    return f"{GENERATED_HEADER}\n{_comment(header)}{body}"


def _timing(interval: int, timeout: int, retries: int) -> dict[str, Any]:
    return {"interval": f"{interval}s", "timeout": f"{timeout}s", "retries": retries}


def _build(reg: Registry, image: str) -> dict[str, Any]:
    return {
        "build": {"context": ".", "dockerfile": "Dockerfile", "args": {"DEPLOYABLE": image}},
        "image": f"{reg.image_name(image)}:dev",
    }


def _compose_service(reg: Registry, d: Deployable) -> dict[str, Any]:
    svc: dict[str, Any] = {}
    if d.kind == "sandbox":
        svc["profiles"] = ["demo"]
    svc.update(_build(reg, d.image))
    if d.image != d.name or d.kind == "sandbox":
        svc["command"] = list(d.container_command)
    if d.kind in ("gateway", "sandbox"):
        published = "8080:8080" if d.kind == "gateway" else f"{d.port}:{d.port}"
        svc["ports"] = [f"127.0.0.1:{published}"]
    env = compose_environment(reg, d)
    if env:
        svc["environment"] = env
    check: dict[str, Any] = {"test": ["CMD", *d.container_probe()]}
    if d.kind == "worker":
        check.update(_timing(15, 5, 4), start_period="30s")
    else:
        check.update(_timing(5, 5, 12), start_period="5s" if d.kind == "sandbox" else "10s")
    svc["healthcheck"] = check
    if d.kind != "sandbox":
        svc["stop_grace_period"] = f"{_grace(d) - PRESTOP_SECONDS}s"
    depends: dict[str, Any] = {}
    if d.database:
        depends["migrate"] = {"condition": "service_completed_successfully"}
    secret_keys = set(d.secret_env(reg.project).values())
    if "amqp-url" in secret_keys:
        depends["rabbitmq"] = {"condition": "service_healthy"}
    if "redis-url" in secret_keys:
        depends["redis"] = {"condition": "service_healthy"}
    if d.kind == "gateway":
        depends.update({callee: {"condition": "service_healthy"} for callee in d.calls})
    if depends:
        svc["depends_on"] = depends
    return svc


def _grace(d: Deployable) -> int:
    """terminationGracePeriodSeconds: > preStop + the process's own drain time."""
    if d.kind == "worker":
        return d.termination_grace_seconds
    return max(d.termination_grace_seconds, 30)


# ================================================================================ Kubernetes
HARDENED = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "privileged": False,
    "capabilities": {"drop": ["ALL"]},
}
POD_SECURITY = {
    "runAsNonRoot": True,
    "runAsUser": UID,
    "runAsGroup": UID,
    "fsGroup": UID,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def _secret_env(
    reg: Registry, env: Mapping[str, str], optional: Mapping[str, str] = {}
) -> list[dict[str, Any]]:
    out = []
    for name, key in {**env, **optional}.items():
        ref: dict[str, Any] = {"name": reg.secret_name, "key": key}
        if name in optional:
            ref["optional"] = True
        out.append({"name": name, "valueFrom": {"secretKeyRef": ref}})
    return out


def _tmp_mount() -> list[dict[str, str]]:
    return [{"name": "tmp", "mountPath": "/tmp"}]


def _wait_for_migrations(reg: Registry, d: Deployable) -> dict[str, Any]:
    assert d.database
    return {
        "name": "wait-for-migrations",
        "image": reg.image_name(d.image),
        "command": ["python", "-m", "omnistock_cli.probe", "wait-migrated", d.database, "--timeout", "600"],
        "env": _secret_env(reg, {f"{d.database.upper()}_DATABASE_URL": f"{d.database}-database-url"}),
        "resources": {
            "requests": {"cpu": "20m", "memory": "64Mi"},
            "limits": {"cpu": "200m", "memory": "128Mi"},
        },
        "securityContext": HARDENED,
        "volumeMounts": _tmp_mount(),
    }


def _probes(d: Deployable) -> dict[str, Any]:
    if d.is_grpc:
        action: dict[str, Any] = {"grpc": {"port": d.port}}
        return {
            "startupProbe": {**action, "periodSeconds": 2, "failureThreshold": 30},
            "readinessProbe": {**action, "periodSeconds": 5, "timeoutSeconds": 2, "failureThreshold": 2},
            "livenessProbe": {**action, "periodSeconds": 10, "timeoutSeconds": 3, "failureThreshold": 3},
        }
    if d.kind == "gateway":
        return {
            "startupProbe": {
                "httpGet": {"path": "/healthz", "port": "http"},
                "periodSeconds": 2,
                "failureThreshold": 30,
            },
            # 200 only while every backend reports SERVING: no traffic to a gateway that would answer 503.
            "readinessProbe": {
                "httpGet": {"path": "/readyz", "port": "http"},
                "periodSeconds": 5,
                "timeoutSeconds": 3,
                "failureThreshold": 2,
            },
            "livenessProbe": {
                "httpGet": {"path": "/healthz", "port": "http"},
                "periodSeconds": 10,
                "timeoutSeconds": 3,
                "failureThreshold": 3,
            },
        }
    # nameko has no health endpoint: a worker without a broker connection for 3 x 20 s is stuck.
    return {
        "livenessProbe": {
            "exec": {"command": d.container_probe()},
            "initialDelaySeconds": 30,
            "periodSeconds": 20,
            "timeoutSeconds": 5,
            "failureThreshold": 3,
        }
    }


def _deployment(reg: Registry, d: Deployable) -> dict[str, Any]:
    labels = _labels(d)
    container: dict[str, Any] = {
        "name": d.name if d.component == "server" else "worker",
        "image": reg.image_name(d.image),
        "command": list(d.container_command),
    }
    if d.port is not None:
        port_name = "http" if d.kind == "gateway" else "grpc"
        container["ports"] = [{"name": port_name, "containerPort": d.port}]
    container["envFrom"] = [{"configMapRef": {"name": name}} for name in ("omnistock-common", *d.config)]
    container["env"] = _secret_env(reg, d.secret_env(reg.project), d.optional_secrets)
    container.update(_probes(d))
    if d.component == "server":
        # Let endpoints controllers and kube-proxy drop this pod before SIGTERM.
        container["lifecycle"] = {"preStop": {"exec": {"command": ["sleep", str(PRESTOP_SECONDS)]}}}
    container["resources"] = d.resources
    container["securityContext"] = HARDENED
    container["volumeMounts"] = _tmp_mount()
    pod: dict[str, Any] = {
        "serviceAccountName": d.image,
        "automountServiceAccountToken": False,
        "terminationGracePeriodSeconds": _grace(d),
        "securityContext": POD_SECURITY,
    }
    if d.database:
        pod["initContainers"] = [_wait_for_migrations(reg, d)]
    pod["containers"] = [container]
    pod["volumes"] = [{"name": "tmp", "emptyDir": {"sizeLimit": d.tmp_size or "256Mi"}}]
    spec: dict[str, Any] = {"revisionHistoryLimit": 5, "selector": {"matchLabels": labels}}
    if d.component == "server":
        spec["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    spec["template"] = {
        "metadata": {"labels": {**labels, "omnistock.io/deployable": d.name}},
        "spec": pod,
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": d.name, "labels": labels},
        "spec": spec,
    }


def _hpa(d: Deployable) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": d.name, "labels": {"app.kubernetes.io/name": d.image}},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": d.name},
            "minReplicas": d.replicas["min"],
            "maxReplicas": d.replicas["max"],
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
                }
            ],
        },
    }


def _service(d: Deployable) -> dict[str, Any]:
    port_name = "http" if d.kind == "gateway" else "grpc"
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": d.name, "labels": {"app.kubernetes.io/name": d.image}},
        "spec": {
            "type": "ClusterIP",
            "selector": _labels(d),
            "ports": [{"name": port_name, "port": d.port, "targetPort": port_name, "appProtocol": port_name}],
        },
    }


def _migration_job(reg: Registry, d: Deployable) -> dict[str, Any]:
    assert d.database
    labels = {"app.kubernetes.io/name": d.image, "app.kubernetes.io/component": "migration"}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": f"{d.database}-migrate", "labels": labels},
        "spec": {
            "backoffLimit": 6,
            "activeDeadlineSeconds": 900,
            "ttlSecondsAfterFinished": 86400,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": d.image,
                    "automountServiceAccountToken": False,
                    "restartPolicy": "Never",
                    "securityContext": POD_SECURITY,
                    "containers": [
                        {
                            "name": "migrate",
                            "image": reg.image_name(d.image),
                            "command": ["python", "-m", "omnistock_common.migrate_all", d.database],
                            "envFrom": [{"configMapRef": {"name": "omnistock-common"}}],
                            "env": _secret_env(
                                reg, {f"{d.database.upper()}_DATABASE_URL": f"{d.database}-database-url"}
                            ),
                            "resources": {
                                "requests": {"cpu": "50m", "memory": "128Mi"},
                                "limits": {"cpu": "500m", "memory": "256Mi"},
                            },
                            "securityContext": HARDENED,
                            "volumeMounts": _tmp_mount(),
                        }
                    ],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
                },
            },
        },
    }


def render_k8s_deployable(reg: Registry, d: Deployable) -> str:
    docs: list[tuple[str, dict[str, Any]]] = []
    if d.image == d.name:
        sa = {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": d.image, "labels": {"app.kubernetes.io/name": d.image}},
            "automountServiceAccountToken": False,
        }
        docs.append(("", sa))
    if d.port is not None:
        docs.append(("", _service(d)))
    drain = {
        "worker": "nameko waits for running entry points on SIGTERM",
        "gateway": "> preStop sleep + gunicorn --graceful-timeout",
    }.get(d.kind, "> preStop sleep + GRPC_GRACE_SECONDS, so the drain is never cut short")
    why = (
        "No `replicas`: the HorizontalPodAutoscaler owns the count. terminationGracePeriodSeconds:\n"
        f"{drain}. Pods with a database wait (init container) until its schema is at this image's head."
        if d.database
        else f"No `replicas`: the HorizontalPodAutoscaler owns the count. terminationGracePeriodSeconds:\n{drain}."
    )
    docs.append((why, _deployment(reg, d)))
    docs.append(("", _hpa(d)))
    if d.database and d.image == d.name:
        docs.append(
            (
                "Alembic as a Job, never in the serving entrypoint. Jobs are immutable: delete the finished\n"
                "Job before applying a new image (docs/deploy.md). Idempotent: at head it does nothing.",
                _migration_job(reg, d),
            )
        )
    return _yaml_docs(docs, d.description)


def render_config_maps(reg: Registry) -> str:
    docs = [
        ("", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": dict(data)})
        for name, data in reg.config.items()
    ]
    return _yaml_docs(
        docs,
        "Non-secret settings (the [config.*] tables of the registry, with their comments there).\n"
        "Secrets are keys of the omnistock-secrets Secret instead.",
    )


def network_policies(reg: Registry) -> list[tuple[str, dict[str, Any]]]:
    """Default deny for every pod's ingress, then one allow per listening deployable: the gateway
    from the Ingress controller's namespace, every gRPC server from the deployables that call it
    (so a connector is reachable from channels and its worker only). Egress stays open: the
    connectors reach the vendors on the internet, and the data stores are outside the namespace."""
    docs: list[tuple[str, dict[str, Any]]] = [
        (
            "Nothing reaches a pod of this namespace unless a policy below allows it.",
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": "default-deny-ingress"},
                "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
            },
        )
    ]
    for d in reg.kubernetes:
        if d.port is None:
            continue
        if d.kind == "gateway":
            namespace = reg.project.get("ingress_namespace", "ingress-nginx")
            peers: list[dict[str, Any]] = [
                {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}
            ]
            why = f"{d.name}: from the Ingress controller (namespace {namespace}) only."
        else:
            callers = [c for c in reg.callers_of(d.name) if c.in_kubernetes]
            peers = [{"podSelector": {"matchLabels": _labels(c)}} for c in callers]
            why = f"{d.name}: from {', '.join(c.name for c in callers) or 'nobody'} only."
        rule: dict[str, Any] = {"ports": [{"protocol": "TCP", "port": d.port}]}
        if peers:
            rule = {"from": peers, **rule}
        docs.append(
            (
                why,
                {
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "NetworkPolicy",
                    "metadata": {"name": f"{d.name}-ingress", "labels": {"app.kubernetes.io/name": d.image}},
                    "spec": {
                        "podSelector": {"matchLabels": _labels(d)},
                        "policyTypes": ["Ingress"],
                        "ingress": [rule] if peers else [],
                    },
                },
            )
        )
    return docs


def render_network_policies(reg: Registry) -> str:
    return _yaml_docs(
        network_policies(reg),
        "Who may connect to whom, from each deployable's `calls` in the registry. Kubelet probes\n"
        "come from the node and are not subject to these policies on the common CNIs.",
    )


def render_kustomization(reg: Registry) -> str:
    files = ["config.yaml", *[f"{d.name}.yaml" for d in reg.kubernetes], "network-policies.yaml"]
    doc = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "labels": [{"pairs": {"app.kubernetes.io/part-of": "omnistock"}, "includeSelectors": False}],
        "resources": files,
    }
    return _yaml_docs(
        [("", doc)],
        "OmniStock base: every deployable of the registry except the sandboxes, the migration Jobs,\n"
        "ConfigMaps, HPAs and NetworkPolicies. No Secret values: Deployments reference keys of the\n"
        "omnistock-secrets Secret, which an overlay generates (dev) or which exists already (prod).\n"
        "PostgreSQL, Redis and RabbitMQ are expected as managed services or operators.",
    )


def render_pdbs(reg: Registry) -> str:
    docs = []
    for d in reg.kubernetes:
        if d.component != "server":
            continue
        docs.append(
            (
                "",
                {
                    "apiVersion": "policy/v1",
                    "kind": "PodDisruptionBudget",
                    "metadata": {"name": d.name},
                    "spec": {
                        "minAvailable": d.replicas.get("min_available", 1),
                        "selector": {"matchLabels": _labels(d)},
                    },
                },
            )
        )
    return _yaml_docs(docs, "Keep serving through node drains and cluster upgrades (prod overlay).")


def render_dev_secrets(reg: Registry) -> str:
    lines = [
        GENERATED_HEADER,
        "# The dev overlay's omnistock-secrets (secretGenerator envs): DEV-ONLY values anyone can read.",
    ]
    lines += [f"{key}={entry['dev']}" for key, entry in reg.secrets.items()]
    return "\n".join(lines) + "\n"


def render_images_region(reg: Registry, overlay: str) -> str:
    settings = reg.overlays.get(overlay, {})
    lines = ["images:"]
    for image in reg.images:
        if not any(d.in_kubernetes for d in reg.image_deployables(image)):
            continue
        lines.append(f"  - name: {reg.image_name(image)}")
        if settings.get("registry"):
            lines.append(f"    newName: {settings['registry']}{reg.image_name(image)}")
        lines.append(f'    newTag: "{settings.get("tag", "dev")}"')
    return "\n".join(lines) + "\n"


def replace_region(text: str, name: str, body: str) -> str:
    """Swap the lines between the BEGIN/END GENERATED markers of `name` for `body`."""
    begin, end = REGION_BEGIN.format(name=name), REGION_END.format(name=name)
    if begin not in text or end not in text:
        raise RegistryError(f"markers `{begin}` / `{end}` not found")
    head, rest = text.split(begin + "\n", 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{body}{end}{tail}"


# ============================================================================ the file set
def generated_files(reg: Registry, root: Path = ROOT) -> dict[Path, str]:
    """Relative path -> content of every generated file (regions spliced into current text)."""
    files: dict[Path, str] = {
        Path("Procfile"): render_procfile(reg),
        Path("docker-compose.yml"): render_compose(reg),
        Path("k8s/base/kustomization.yaml"): render_kustomization(reg),
        Path("k8s/base/config.yaml"): render_config_maps(reg),
        Path("k8s/base/network-policies.yaml"): render_network_policies(reg),
        Path("k8s/overlays/prod/pdb.yaml"): render_pdbs(reg),
        Path("k8s/overlays/dev/dev-secrets.env"): render_dev_secrets(reg),
    }
    for d in reg.kubernetes:
        files[Path(f"k8s/base/{d.name}.yaml")] = render_k8s_deployable(reg, d)
    for overlay in ("dev", "prod"):
        path = Path(f"k8s/overlays/{overlay}/kustomization.yaml")
        current = (root / path).read_text()
        files[path] = replace_region(current, "images", render_images_region(reg, overlay))
    return files


def stale_files(reg: Registry, root: Path = ROOT) -> list[str]:
    """Generated files whose content differs from what the registry gives, plus base manifests
    of deployables no longer in the registry."""
    stale = []
    files = generated_files(reg, root)
    for path, content in files.items():
        target = root / path
        if not target.is_file() or target.read_text() != content:
            stale.append(str(path))
    for path in sorted((root / "k8s/base").glob("*.yaml")):
        if Path("k8s/base") / path.name not in files:
            stale.append(f"k8s/base/{path.name} (no such deployable)")
    return stale


def write_generated(reg: Registry, root: Path = ROOT) -> list[str]:
    written = []
    files = generated_files(reg, root)
    for path, content in files.items():
        target = root / path
        if not target.is_file() or target.read_text() != content:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
            written.append(str(path))
    for path in sorted((root / "k8s/base").glob("*.yaml")):
        if Path("k8s/base") / path.name not in files:
            path.unlink()
            written.append(f"{path.relative_to(root)} (removed)")
    return written


# ============================================================================ image builder
def prepare_image(reg: Registry, image: str, app_dir: Path, bin_dir: Path, root: Path = ROOT) -> None:
    """What the Dockerfile's builder stage needs for one image: the non-Python files its
    deployables use (under app_dir), `omnistock-start` (the image's default command) and
    `omnistock-healthcheck` (its default HEALTHCHECK), both in bin_dir."""
    deployables = reg.image_deployables(image)
    if not deployables or deployables[0].name != image:
        known = ", ".join(d.name for d in reg.deployables if d.name == d.image)
        raise RegistryError(f"DEPLOYABLE={image!r} is not an image (one of: {known})")
    main = deployables[0]
    app_dir.mkdir(parents=True, exist_ok=True)
    for d in deployables:
        for relative in d.files:
            target = app_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / relative, target)
    bin_dir.mkdir(parents=True, exist_ok=True)
    # A gRPC server alone in a container must listen on the pod's address, not loopback.
    defaults = {f"{main.env_prefix}_GRPC_HOST": "0.0.0.0"} if main.is_grpc else {}
    _script(bin_dir / "omnistock-start", main.container_command, main.description, defaults)
    _script(bin_dir / "omnistock-healthcheck", main.container_probe(), f"healthcheck of {main.name}")


def _script(path: Path, argv: Iterable[str], why: str, defaults: Mapping[str, str] | None = None) -> None:
    lines = ["#!/bin/sh", f"# {why.splitlines()[0] if why else path.name} (generated from the registry)"]
    lines += [f'export {name}="${{{name}:-{value}}}"' for name, value in (defaults or {}).items()]
    lines.append(f'exec {shlex.join(argv)} "$@"')
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o755)


def check_imports(reg: Registry, image: str) -> list[str]:
    """Modules of this image's deployables that do not import (gunicorn apps: found, not run,
    because building the WSGI app reads its settings)."""
    import importlib
    import importlib.util

    failures = []
    for d in reg.image_deployables(image):
        try:
            if d.kind == "gateway":
                if importlib.util.find_spec(d.module) is None:
                    failures.append(f"{d.name}: {d.module} not found")
            else:
                importlib.import_module(d.module)
        except Exception as exc:  # any import error is a broken image; name it
            failures.append(f"{d.name}: import {d.module}: {exc!r}")
    return failures


# ====================================================================================== CLI
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m omnistock_devtools.registry", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--registry", type=Path, default=None, help="default: deploy/deployables.toml")
    parser.add_argument("--root", type=Path, default=ROOT, help="where the generated files live")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("generate", help="rewrite every generated file")
    sub.add_parser("check", help="exit 1 if a generated file is stale")
    sub.add_parser("databases", help="print the databases, space-separated (make migrate)")
    image = sub.add_parser("image", help="prepare one image's start script and files (Dockerfile)")
    image.add_argument("name")
    image.add_argument("--app", type=Path, required=True)
    image.add_argument("--bin", type=Path, required=True)
    imports = sub.add_parser("imports", help="import every module one image runs (Dockerfile)")
    imports.add_argument("name")
    args = parser.parse_args(argv)
    try:
        reg = Registry.load(args.registry or args.root / REGISTRY_PATH)
        if args.command == "generate":
            for path in write_generated(reg, args.root):
                print(f"wrote {path}")
            return 0
        if args.command == "check":
            stale = stale_files(reg, args.root)
            for path in stale:
                print(f"stale: {path} (run `make generate`)", file=sys.stderr)
            return 1 if stale else 0
        if args.command == "databases":
            print(" ".join(reg.databases))
            return 0
        if args.command == "imports":
            failures = check_imports(reg, args.name)
            for failure in failures:
                print(f"image {args.name}: {failure}", file=sys.stderr)
            return 1 if failures else 0
        prepare_image(reg, args.name, args.app, args.bin, args.root)
        return 0
    except RegistryError as exc:
        print(f"registry: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
