"""The deployment files as the deploy tests read them: the registry's derived sets, k8s/ loaded
raw or rendered with `kubectl kustomize`, docker-compose.yml, and the env names the code reads.

Shared by tests/deploy/test_k8s_manifests.py and test_compose_and_image.py (pytest's importlib
mode gives test modules no sibling imports, so the readers live here).
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from omnistock_common.config import DEFAULT_GRPC_PORTS
from omnistock_devtools.registry import Registry
from omnistock_devtools.registry.model import ROOT

K8S = ROOT / "k8s"
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
# Everything below is derived from the registry (deploy/deployables.toml): these tests check that
# the generated files keep the rules, not which deployables exist.
REGISTRY = Registry.load()
KUBERNETES = {d.name: d for d in REGISTRY.kubernetes}
# Services that own a database: each has a migration Job, and its pods wait for the schema.
SERVICES = tuple(REGISTRY.databases)
# Stateless servers: no database, so no migration Job and no wait-for-migrations init container.
STATELESS = tuple(d.name for d in REGISTRY.kubernetes if d.database is None)
# gRPC servers by their Deployment/Service (and compose service) name.
GRPC_SERVERS = {d.name: d.port for d in REGISTRY.grpc}
# Every image, built from the one Dockerfile with --build-arg DEPLOYABLE=<image>.
IMAGES = {REGISTRY.image_name(image) for image in REGISTRY.images}
# Local stand-ins for the vendors: docker-compose profile `demo` only, never in Kubernetes.
SANDBOXES = tuple(d.name for d in REGISTRY.of_kind("sandbox"))
SECRET_NAME = REGISTRY.secret_name
SECRET_KEYS = set(REGISTRY.secrets)
# Keys a Deployment may reference with `optional: true` (only present during a rotation).
OPTIONAL_SECRET_KEYS = {key for d in REGISTRY.deployables for key in d.optional_secrets.values()}
# Variables whose values are credentials: they must come from a Secret, never a literal.
SENSITIVE = re.compile(r"(DATABASE_URL|REDIS_URL|AMQP_URL|SECRET|PASSWORD|_KEYS?|TOKEN)$")
# Read by something other than a config module; each entry says by what.
ENV_ALLOW_LIST: dict[str, str] = {
    "EVENTLET_THREADPOOL_SIZE": "eventlet.tpool (channels worker: >= worker.yaml max_workers + 4)",
    "OMNISTOCK_ENV": "omnistock_common.config.EnvReader itself (production mode, every process)",
}
# Modules besides <svc>/config.py that read settings through EnvReader.
EXTRA_SETTINGS_MODULES = (
    "services/channels/channels/sync/settings.py",  # load_sync_settings: the sync worker's knobs
)
ENV_METHODS = {
    "str",
    "int",
    "float",
    "bool",
    "url",
    "choice",
    "secret",
    "database_url",
    "redis_url",
    "amqp_url",
}


# --------------------------------------------------------------------------- what the code reads
def names_from_config_module(path: Path) -> set[str]:
    """Env var names passed to EnvReader methods (`env.int("NAME", ...)`) in one module.

    f-strings such as f"{prefix}_GRPC_PORT" are expanded for every service that has a port.
    """
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ENV_METHODS
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "env"
            and node.args
        ):
            continue
        arg = node.args[0]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            names.add(arg.value)
        elif isinstance(arg, ast.JoinedStr):
            for service in DEFAULT_GRPC_PORTS:
                names.add(
                    "".join(
                        str(part.value) if isinstance(part, ast.Constant) else service.upper()
                        for part in arg.values
                    )
                )
    return names


@cache
def known_env_names() -> frozenset[str]:
    modules = [ROOT / "libs/omnistock_common/omnistock_common/config.py"]
    modules += sorted(ROOT.glob("services/*/*/config.py"))
    # Connectors live one level deeper: services/channels/connectors/<kind>/<pkg>/config.py.
    modules += sorted(ROOT.glob("services/*/connectors/*/*/config.py"))
    modules += [ROOT / module for module in EXTRA_SETTINGS_MODULES]
    names = set(ENV_ALLOW_LIST)
    for module in modules:
        names |= names_from_config_module(module)
    # nameko reads ${VAR:default} placeholders from the worker config files.
    for worker_config in ROOT.glob("services/*/worker.yaml"):
        names |= set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", worker_config.read_text()))
    return frozenset(names)


# --------------------------------------------------------------------------------- k8s loading
def load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    with path.open() as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc is not None]


def base_objects() -> list[dict[str, Any]]:
    (kustomization,) = load_yaml_documents(K8S / "base/kustomization.yaml")
    objects: list[dict[str, Any]] = []
    for entry in kustomization["resources"]:
        objects += load_yaml_documents(K8S / "base" / entry)
    return objects


@cache
def rendered(target: str) -> tuple[dict[str, Any], ...]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: overlays not rendered (raw base files still checked)")
    output = subprocess.run(
        [kubectl, "kustomize", str(K8S / target)], check=True, capture_output=True, text=True
    ).stdout
    return tuple(doc for doc in yaml.safe_load_all(output) if doc)


def manifests(target: str) -> list[dict[str, Any]]:
    return base_objects() if target == "raw-base" else list(rendered(target))


TARGETS = ["raw-base", "base", "overlays/dev", "overlays/prod"]


def of_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj["kind"] == kind]


def pod_specs(objects: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for obj in objects:
        if obj["kind"] in {"Deployment", "Job"}:
            yield obj, obj["spec"]["template"]["spec"]


def all_containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod.get("initContainers", []), *pod["containers"]]


def effective_env(container: dict[str, Any], objects: list[dict[str, Any]]) -> dict[str, Any]:
    """Env of a container: ConfigMap values via envFrom, then explicit env entries."""
    config_maps = {cm["metadata"]["name"]: cm.get("data", {}) for cm in of_kind(objects, "ConfigMap")}
    env: dict[str, Any] = {}
    for source in container.get("envFrom", []):
        name = source["configMapRef"]["name"]
        assert name in config_maps, f"{container['name']}: envFrom unknown ConfigMap {name}"
        env.update(config_maps[name])
    for entry in container.get("env", []):
        env[entry["name"]] = entry.get("value", entry.get("valueFrom"))
    return env


def image_repository(image: str) -> str:
    """`registry/omnistock/catalog:1.2@sha256:..` -> `registry/omnistock/catalog`."""
    image = image.split("@", 1)[0]
    last = image.rsplit("/", 1)[-1]
    return image.rsplit(":", 1)[0] if ":" in last else image


def service_of(obj: dict[str, Any]) -> str:
    return obj["metadata"]["labels"]["app.kubernetes.io/name"]


def component_of(obj: dict[str, Any]) -> str:
    return obj["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]


def keeps_no_data(obj: dict[str, Any]) -> bool:
    """The object runs a deployable without a database: known by its pod's deployable label, since
    a worker may run another service's image (live-worker: the gateway's) without its database."""
    labels = obj["spec"]["template"].get("metadata", {}).get("labels", {})
    return labels.get("omnistock.io/deployable", service_of(obj)) in STATELESS


def env_prefix(name: str) -> str:
    """`shopify-connector` -> `SHOPIFY_CONNECTOR` (the settings prefix of that service)."""
    return name.replace("-", "_").upper()


def secret_refs(container: dict[str, Any]) -> dict[str, str]:
    """env name -> Secret key, for the container's secretKeyRef entries."""
    return {
        entry["name"]: entry["valueFrom"]["secretKeyRef"]["key"]
        for entry in container.get("env", [])
        if "secretKeyRef" in entry.get("valueFrom", {})
    }


# ------------------------------------------------------------------------------------ compose
@cache
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


# ------------------------------------------------------------------ network and production
def policies(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return of_kind(objects, "NetworkPolicy")


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return selector.get("matchLabels", {}).items() <= labels.items()


def admitted(
    objects: list[dict[str, Any]], target: dict[str, str], source: dict[str, str], port: int
) -> bool:
    """Would a pod labelled `source` (same namespace) reach `target`:port under these policies?"""
    applying = [p for p in policies(objects) if selects(p["spec"]["podSelector"], target)]
    assert applying, f"no NetworkPolicy selects {target}"
    for policy in applying:
        for rule in policy["spec"].get("ingress", []):
            ports = {p["port"] for p in rule.get("ports", [])}
            peers = rule.get("from", [])
            if ports and port not in ports:
                continue
            if any("podSelector" in peer and "namespaceSelector" not in peer and selects(peer["podSelector"], source)
                   for peer in peers):  # fmt: skip
                return True
    return False


def pod_labels(deployment: dict[str, Any]) -> dict[str, str]:
    return deployment["spec"]["template"]["metadata"]["labels"]


def long_running_env(objects: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    for deployment in of_kind(objects, "Deployment"):
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        yield deployment["metadata"]["name"], container, effective_env(container, objects)
