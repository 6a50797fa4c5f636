"""YAML rendering shared by every generated file, and the local-run files: Procfile, docker-compose.yml."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlparse

from .model import GENERATED_HEADER, PRESTOP_SECONDS, Deployable, Registry


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
