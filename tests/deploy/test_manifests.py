"""Invariants of the deployment files: k8s/ (kustomize), docker-compose.yml, the Dockerfiles.

No Docker engine or cluster is needed: the files are parsed, the kustomize overlays are
rendered with `kubectl kustomize` when kubectl is installed, and every rule that keeps a
deployment safe is checked on the result (probes, limits, non-root, read-only root, secrets
by reference, migrations outside the serving entrypoint, env var names the code really reads).
"""

from __future__ import annotations

import ast
import base64
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from omnistock_common.config import DEFAULT_GRPC_PORTS

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
COMPOSE = ROOT / "docker-compose.yml"
# Services that own a database: each has a migration Job, and its pods wait for the schema.
SERVICES = ("catalog", "inventory", "gateway", "channels")
# Stateless services: no database, so no migration Job and no wait-for-migrations init container.
STATELESS = ("shopify-connector", "woocommerce-connector")
# gRPC servers by their Deployment/Service (and compose service) name.
GRPC_SERVERS = {
    "catalog": 50051,
    "inventory": 50052,
    "channels": 50055,
    "shopify-connector": 50061,
    "woocommerce-connector": 50062,
}
# Every Dockerfile, by the image it builds.
DOCKERFILES = {
    "catalog": "services/catalog/Dockerfile",
    "inventory": "services/inventory/Dockerfile",
    "gateway": "services/gateway/Dockerfile",
    "channels": "services/channels/Dockerfile",
    "shopify-connector": "services/channels/connectors/shopify/Dockerfile",
    "woocommerce-connector": "services/channels/connectors/woocommerce/Dockerfile",
}
IMAGES = {f"omnistock/{name}" for name in DOCKERFILES}
# Local stand-ins for the vendors: docker-compose profile `demo` only, never in Kubernetes.
SANDBOXES = ("shopify-sandbox", "woocommerce-sandbox")
SECRET_NAME = "omnistock-secrets"
SECRET_KEYS = {
    "catalog-database-url",
    "inventory-database-url",
    "gateway-database-url",
    "channels-database-url",
    "redis-url",
    "amqp-url",
    "gateway-jwt-secret",
    "credentials-encryption-key",
    "oauth-state-secret",
    "shopify-client-id",
    "shopify-client-secret",
}
# Keys a Deployment may reference with `optional: true` (only present during a rotation).
OPTIONAL_SECRET_KEYS = {"shopify-previous-client-secret"}
# Variables whose values are credentials: they must come from a Secret, never a literal.
SENSITIVE = re.compile(r"(DATABASE_URL|REDIS_URL|AMQP_URL|SECRET|PASSWORD|_KEYS?|TOKEN)$")
# Read by something other than a config module; each entry says by what.
ENV_ALLOW_LIST: dict[str, str] = {
    "EVENTLET_THREADPOOL_SIZE": "eventlet.tpool (channels worker: >= worker.yaml max_workers + 4)",
    "OMNISTOCK_ENV": "omnistock_common.config.EnvReader itself (production mode, every process)",
}
# Modules besides <svc>/config.py that read settings through EnvReader.
EXTRA_SETTINGS_MODULES = (
    "services/channels/channels/sync.py",  # load_sync_settings: the sync worker's knobs
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


def test_config_scan_finds_the_documented_variables() -> None:
    """Guards the scanner itself: if it found nothing, every env check below would be vacuous."""
    names = known_env_names()
    for expected in (
        "CATALOG_GRPC_HOST",
        "INVENTORY_GRPC_PORT",
        "CATALOG_DATABASE_URL",
        "GATEWAY_DATABASE_URL",
        "INVENTORY_ADDR",
        "REDIS_URL",
        "AMQP_URL",
        "LOG_LEVEL",
        "GRPC_GRACE_SECONDS",
        "GATEWAY_JWT_SECRET",
        "CHANNELS_DATABASE_URL",
        "CHANNELS_ADDR",
        "CREDENTIALS_KEYS",
        "OAUTH_STATE_SECRET",
        "PUBLIC_BASE_URL",
        "SHOPIFY_CONNECTOR_ADDR",
        "SHOPIFY_CONNECTOR_GRPC_HOST",
        "SHOPIFY_CLIENT_SECRET",
        "WOOCOMMERCE_CONNECTOR_BUCKET_CAPACITY",
        "CHANNELS_RECONCILE_INTERVAL_SECONDS",
    ):
        assert expected in names
    assert "NOT_A_SETTING" not in names


# --------------------------------------------------------------------------------- k8s loading
def load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    with path.open() as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc is not None]


def test_every_k8s_yaml_parses_and_kustomizations_reference_existing_files() -> None:
    files = sorted(K8S.rglob("*.yaml"))
    assert files, "no manifests under k8s/"
    for path in files:
        for doc in load_yaml_documents(path):
            assert (isinstance(doc, dict) and "kind" in doc) or "apiVersion" in doc, path
        if path.name == "kustomization.yaml":
            (doc,) = load_yaml_documents(path)
            for entry in doc.get("resources", []):
                assert (path.parent / entry).exists(), f"{path}: missing resource {entry}"
            for patch in doc.get("patches", []):
                if "path" in patch:
                    assert (path.parent / patch["path"]).exists(), f"{path}: missing patch {patch['path']}"


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


def env_prefix(name: str) -> str:
    """`shopify-connector` -> `SHOPIFY_CONNECTOR` (the settings prefix of that service)."""
    return name.replace("-", "_").upper()


# ---------------------------------------------------------------------------- k8s invariants
@pytest.mark.parametrize("target", TARGETS)
def test_every_container_is_hardened_and_bounded(target: str) -> None:
    objects = manifests(target)
    pods = list(pod_specs(objects))
    assert len(pods) == 12  # 8 Deployments + 4 migration Jobs
    for obj, pod in pods:
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        assert pod["securityContext"]["runAsNonRoot"] is True, where
        assert pod["securityContext"]["runAsUser"] == 10001, where
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
        assert pod["automountServiceAccountToken"] is False, where
        for container in all_containers(pod):
            cwhere = f"{where}/{container['name']}"
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, cwhere
            assert security["readOnlyRootFilesystem"] is True, cwhere
            assert security["capabilities"]["drop"] == ["ALL"], cwhere
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][bound]), f"{cwhere}: {bound}"
            image = image_repository(container["image"])
            assert image.endswith(f"omnistock/{service_of(obj)}"), f"{cwhere}: image {container['image']}"


@pytest.mark.parametrize("target", TARGETS)
def test_servers_have_native_probes_and_drain_within_the_grace_period(target: str) -> None:
    objects = manifests(target)
    common = next(cm for cm in of_kind(objects, "ConfigMap") if cm["metadata"]["name"] == "omnistock-common")
    grace = float(common["data"]["GRPC_GRACE_SECONDS"])
    deployments = of_kind(objects, "Deployment")
    assert {d["metadata"]["name"] for d in deployments} == {
        "catalog",
        "inventory",
        "inventory-worker",
        "channels",
        "channels-worker",
        "shopify-connector",
        "woocommerce-connector",
        "gateway",
    }
    for deployment in deployments:
        pod = deployment["spec"]["template"]["spec"]
        container = pod["containers"][0]
        name = deployment["metadata"]["name"]
        assert "livenessProbe" in container, name
        pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
        pre_stop_seconds = float(pre_stop[1]) if pre_stop[:1] == ["sleep"] else 0.0
        if name in GRPC_SERVERS:
            port = GRPC_SERVERS[name]
            assert [p["containerPort"] for p in container["ports"]] == [port], name
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                assert container[probe]["grpc"]["port"] == port, f"{name}: {probe}"
            assert pod["terminationGracePeriodSeconds"] > pre_stop_seconds + grace, name
            env = effective_env(container, objects)
            assert env[f"{env_prefix(name)}_GRPC_HOST"] == "0.0.0.0", f"{name} must listen on the pod IP"
            assert int(env[f"{env_prefix(name)}_GRPC_PORT"]) == port, name
        elif name == "gateway":
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
            graceful = next(arg for arg in container["command"] if arg.startswith("--graceful-timeout="))
            assert pod["terminationGracePeriodSeconds"] > pre_stop_seconds + float(graceful.split("=")[1])
        else:  # the nameko worker serves no traffic: liveness only
            assert component_of(deployment) == "worker"
            assert "readinessProbe" not in container
            assert container["command"][:2] == ["nameko", "run"]


@pytest.mark.parametrize("target", TARGETS)
def test_every_deployment_is_autoscaled_and_leaves_replicas_to_the_hpa(target: str) -> None:
    objects = manifests(target)
    scaled = {
        hpa["spec"]["scaleTargetRef"]["name"]: hpa["spec"]
        for hpa in of_kind(objects, "HorizontalPodAutoscaler")
    }
    for deployment in of_kind(objects, "Deployment"):
        name = deployment["metadata"]["name"]
        assert name in scaled, f"{name} has no HPA"
        assert "replicas" not in deployment["spec"], (
            f"{name}: spec.replicas would fight the HPA on every apply"
        )
        assert 1 <= scaled[name]["minReplicas"] <= scaled[name]["maxReplicas"], name


@pytest.mark.parametrize("target", TARGETS)
def test_migrations_run_as_jobs_and_never_in_serving_containers(target: str) -> None:
    objects = manifests(target)
    jobs = {service_of(job): job for job in of_kind(objects, "Job")}
    assert set(jobs) == set(SERVICES)
    for service, job in jobs.items():
        (container,) = job["spec"]["template"]["spec"]["containers"]
        assert container["command"] == ["python", "-m", "omnistock_common.migrate_all", service]
        assert job["spec"]["template"]["spec"]["restartPolicy"] in {"Never", "OnFailure"}
    for deployment in of_kind(objects, "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        for container in pod["containers"]:
            command = " ".join(container.get("command", []) + container.get("args", []))
            assert "migrate" not in command and "alembic" not in command, deployment["metadata"]["name"]
        if service_of(deployment) in STATELESS:  # no database: nothing to wait for
            assert not pod.get("initContainers"), deployment["metadata"]["name"]
            continue
        (init,) = pod["initContainers"]
        assert init["command"][:4] == ["python", "-m", "omnistock_cli.probe", "wait-migrated"]
        assert init["command"][4] == service_of(deployment)


@pytest.mark.parametrize("target", TARGETS)
def test_env_names_exist_in_config_and_secrets_are_references(target: str) -> None:
    objects = manifests(target)
    known = known_env_names()
    for cm in of_kind(objects, "ConfigMap"):
        unknown = set(cm.get("data", {})) - known
        assert not unknown, f"ConfigMap {cm['metadata']['name']}: no config module reads {sorted(unknown)}"
        sensitive = {key for key in cm.get("data", {}) if SENSITIVE.search(key)}
        assert not sensitive, f"ConfigMap {cm['metadata']['name']} holds secrets {sorted(sensitive)}"
    for obj, pod in pod_specs(objects):
        service = service_of(obj)
        for container in all_containers(pod):
            where = f"{obj['metadata']['name']}/{container['name']}"
            env = effective_env(container, objects)
            assert not (set(env) - known), f"{where}: unknown env {sorted(set(env) - known)}"
            if service in STATELESS:
                assert not any(name.endswith("_DATABASE_URL") for name in env), f"{where} keeps no data"
            else:
                assert f"{env_prefix(service)}_DATABASE_URL" in env, f"{where} would fall back to SQLite"
            for entry in container.get("env", []):
                if SENSITIVE.search(entry["name"]):
                    ref = entry["valueFrom"]["secretKeyRef"]
                    assert ref["name"].startswith(SECRET_NAME), where
                    if ref["key"] in OPTIONAL_SECRET_KEYS:
                        assert ref.get("optional") is True, f"{where}: {ref['key']} must be optional"
                    else:
                        assert ref["key"] in SECRET_KEYS, f"{where}: unknown secret key {ref['key']}"


@pytest.mark.parametrize("target", TARGETS)
def test_addresses_point_at_services_that_expose_that_port(target: str) -> None:
    objects = manifests(target)
    services = {svc["metadata"]["name"]: svc for svc in of_kind(objects, "Service")}
    pods = {(service_of(d), component_of(d)): d["spec"]["template"] for d in of_kind(objects, "Deployment")}
    for name, svc in services.items():
        template = pods[(name, "server")]
        assert svc["spec"]["selector"].items() <= template["metadata"]["labels"].items(), name
        port_names = {p["name"] for p in template["spec"]["containers"][0]["ports"]}
        assert {p["targetPort"] for p in svc["spec"]["ports"]} <= port_names, name
    for cm in of_kind(objects, "ConfigMap"):
        for key, value in cm.get("data", {}).items():
            if key.endswith("_ADDR"):
                host, port = value.rsplit(":", 1)
                assert host in services, f"{key}={value}: no Service {host}"
                assert int(port) in {p["port"] for p in services[host]["spec"]["ports"]}, f"{key}={value}"


def secret_refs(container: dict[str, Any]) -> dict[str, str]:
    """env name -> Secret key, for the container's secretKeyRef entries."""
    return {
        entry["name"]: entry["valueFrom"]["secretKeyRef"]["key"]
        for entry in container.get("env", [])
        if "secretKeyRef" in entry.get("valueFrom", {})
    }


@pytest.mark.parametrize("target", TARGETS)
def test_channel_secrets_reach_exactly_the_containers_that_need_them(target: str) -> None:
    """The credentials keyring reaches channels and its worker (it decrypts and re-encrypts
    tokens); the OAuth state secret only the server; the Shopify app pair only its connector;
    migrations and init containers only get their database URL."""
    objects = manifests(target)
    needs = {
        "channels": {"CHANNELS_DATABASE_URL", "CREDENTIALS_KEYS", "OAUTH_STATE_SECRET", "REDIS_URL"},
        "channels-worker": {"CHANNELS_DATABASE_URL", "CREDENTIALS_KEYS", "REDIS_URL", "AMQP_URL"},
        "shopify-connector": {
            "REDIS_URL",
            "SHOPIFY_CLIENT_ID",
            "SHOPIFY_CLIENT_SECRET",
            "SHOPIFY_PREVIOUS_CLIENT_SECRET",
        },
        "woocommerce-connector": {"REDIS_URL"},
    }
    for obj, pod in pod_specs(objects):
        name = obj["metadata"]["name"]
        for container in pod.get("initContainers", []):
            assert set(secret_refs(container)) == {f"{env_prefix(service_of(obj))}_DATABASE_URL"}, name
        if obj["kind"] == "Job":
            (container,) = pod["containers"]
            assert set(secret_refs(container)) == {f"{env_prefix(service_of(obj))}_DATABASE_URL"}, name
        elif name in needs:
            assert set(secret_refs(pod["containers"][0])) == needs[name], name
    for name in ("channels", "channels-worker"):
        deployment = next(d for d in of_kind(objects, "Deployment") if d["metadata"]["name"] == name)
        refs = secret_refs(deployment["spec"]["template"]["spec"]["containers"][0])
        assert refs["CREDENTIALS_KEYS"] == "credentials-encryption-key", name


def test_dev_overlay_generates_every_referenced_secret_key() -> None:
    objects = manifests("overlays/dev")
    (secret,) = of_kind(objects, "Secret")
    assert set(secret["data"]) == SECRET_KEYS
    assert all(
        obj["metadata"].get("namespace") == "omnistock-dev" for obj in objects if obj["kind"] != "Namespace"
    )


def test_dev_secret_values_pass_the_services_own_validation() -> None:
    """A malformed key would crash-loop channels at start: check it with the real parsers."""
    from channels.config import load_settings as channels_settings
    from shopify_connector.config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET

    (secret,) = of_kind(manifests("overlays/dev"), "Secret")
    values = {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}
    settings = channels_settings(
        {
            "CREDENTIALS_KEYS": values["credentials-encryption-key"],
            "OAUTH_STATE_SECRET": values["oauth-state-secret"],
        }
    )
    assert not settings.uses_dev_credentials_key and not settings.uses_dev_state_secret
    # Without a sandbox in the cluster these are placeholders; they match the sandbox anyway.
    assert (values["shopify-client-id"], values["shopify-client-secret"]) == (
        SANDBOX_CLIENT_ID,
        SANDBOX_CLIENT_SECRET,
    )


def test_prod_overlay_carries_no_secret_values_and_pins_image_tags() -> None:
    objects = manifests("overlays/prod")
    assert of_kind(objects, "Secret") == [], "production secrets are created out of band"
    for _, pod in pod_specs(objects):
        for container in all_containers(pod):
            repository, _, tag = container["image"].rpartition(":")
            assert repository and tag and tag not in {"latest", "dev"}, container["image"]
    assert {pdb["metadata"]["name"] for pdb in of_kind(objects, "PodDisruptionBudget")} == {
        "catalog",
        "inventory",
        "gateway",
        "channels",
        "shopify-connector",
        "woocommerce-connector",
    }
    for deployment in of_kind(objects, "Deployment"):
        if component_of(deployment) == "server":
            spread = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
            assert {c["topologyKey"] for c in spread} == {
                "topology.kubernetes.io/zone",
                "kubernetes.io/hostname",
            }, deployment["metadata"]["name"]


def test_prod_inventory_is_a_guaranteed_pod_of_one_whole_cpu() -> None:
    """The kubelet's static CPU manager gives such a pod an exclusive core (docs/decisions/0007):
    requests equal limits in every container (init included) and the server's CPU is an integer."""
    (inventory,) = [
        d for d in of_kind(manifests("overlays/prod"), "Deployment") if d["metadata"]["name"] == "inventory"
    ]
    pod = inventory["spec"]["template"]["spec"]
    for container in all_containers(pod):
        resources = container["resources"]
        assert resources["requests"] == resources["limits"], container["name"]
    assert str(pod["containers"][0]["resources"]["limits"]["cpu"]) == "1"


@pytest.mark.parametrize("target", TARGETS)
def test_sandboxes_are_never_deployed_to_kubernetes(target: str) -> None:
    objects = manifests(target)
    for obj in objects:
        assert "sandbox" not in obj["metadata"]["name"], f"{obj['kind']}/{obj['metadata']['name']}"
    for obj, pod in pod_specs(objects):
        for container in all_containers(pod):
            assert "channel_sandboxes" not in " ".join(container["command"]), obj["metadata"]["name"]


# ------------------------------------------------------------------------------------ compose
@cache
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_builds_our_services_with_known_env_and_healthchecks() -> None:
    services = compose()["services"]
    known = known_env_names()
    ours = {name: svc for name, svc in services.items() if "build" in svc}
    assert set(ours) == {
        "migrate",
        "catalog",
        "inventory",
        "inventory-worker",
        "channels",
        "channels-worker",
        "shopify-connector",
        "woocommerce-connector",
        *SANDBOXES,
        "gateway",
    }
    for name, svc in ours.items():
        assert svc["build"]["context"] == "."
        assert (ROOT / svc["build"]["dockerfile"]).exists(), name
        image = svc["image"].rsplit(":", 1)[0]
        assert image in IMAGES and svc["build"]["dockerfile"] == DOCKERFILES[image.split("/", 1)[1]], name
        unknown = set(svc.get("environment", {})) - known
        assert not unknown, f"{name}: no config module reads {sorted(unknown)}"
        for dependency, condition in svc.get("depends_on", {}).items():
            assert dependency in services, name
            assert condition["condition"] in {"service_healthy", "service_completed_successfully"}, name
            # Nothing that always runs may wait for a service of an optional profile.
            assert not services[dependency].get("profiles") or svc.get("profiles"), f"{name} -> {dependency}"
        if name != "migrate":
            assert svc["healthcheck"]["test"][:4] == ["CMD", "python", "-m", "omnistock_cli.probe"], name
        if name in SANDBOXES:
            assert svc["profiles"] == ["demo"], f"{name} is a demo stand-in: profile demo only"
        else:
            assert "profiles" not in svc, name
        if name not in {"migrate", *STATELESS, *SANDBOXES}:
            assert svc["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name
    for name in ("postgres", "redis", "rabbitmq"):
        assert "healthcheck" in services[name], name
    assert services["postgres"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"
    assert services["rabbitmq"]["image"] == "rabbitmq:3-management"
    assert "8080:8080" in services["gateway"]["ports"]


def test_compose_migrates_each_service_into_its_own_database() -> None:
    services = compose()["services"]
    migrate = services["migrate"]
    assert migrate["command"] == ["python", "-m", "omnistock_common.migrate_all", *SERVICES]
    init_sql = (K8S / "postgres/create-databases.sql").read_text()
    mounted = " ".join(services["postgres"]["volumes"])
    assert "./k8s/postgres/create-databases.sql:/docker-entrypoint-initdb.d/" in mounted
    for service in SERVICES:
        url = urlparse(migrate["environment"][f"{service.upper()}_DATABASE_URL"])
        assert url.scheme == "postgresql" and url.hostname == "postgres"
        assert url.path == f"/{service}" and url.username == service
        assert f"CREATE DATABASE {service} OWNER {service};" in init_sql
        assert f"CREATE ROLE {service} LOGIN PASSWORD '{url.password}';" in init_sql
        for name, svc in services.items():
            value = svc.get("environment", {}).get(f"{service.upper()}_DATABASE_URL")
            if value is not None:
                assert value == migrate["environment"][f"{service.upper()}_DATABASE_URL"], name


def test_compose_addresses_and_ports_agree() -> None:
    services = compose()["services"]
    for name, svc in services.items():
        env = svc.get("environment", {})
        if name in GRPC_SERVERS:
            assert env[f"{env_prefix(name)}_GRPC_HOST"] == "0.0.0.0"
            assert int(env[f"{env_prefix(name)}_GRPC_PORT"]) == GRPC_SERVERS[name]
            assert svc["healthcheck"]["test"][-1] == f"127.0.0.1:{GRPC_SERVERS[name]}"
            assert int(svc["stop_grace_period"].rstrip("s")) > float(env["GRPC_GRACE_SECONDS"])
        for key, value in env.items():
            if key.endswith("_ADDR"):
                host, port = value.rsplit(":", 1)
                assert host in services and int(port) == GRPC_SERVERS[host], f"{name}: {key}={value}"


def test_compose_wires_the_channels_stack() -> None:
    services = compose()["services"]
    # The sandbox and the connector must share one Shopify app, or every OAuth HMAC fails.
    app = {
        key: services["shopify-connector"]["environment"][key]
        for key in ("SHOPIFY_CLIENT_ID", "SHOPIFY_CLIENT_SECRET")
    }
    assert {key: services["shopify-sandbox"]["environment"][key] for key in app} == app
    # Channels and its worker decrypt the same credentials: one keyring.
    assert (
        services["channels"]["environment"]["CREDENTIALS_KEYS"]
        == services["channels-worker"]["environment"]["CREDENTIALS_KEYS"]
    )
    gateway = services["gateway"]["environment"]
    assert set(gateway["GATEWAY_BACKENDS"].split(",")) == {"catalog", "inventory", "channels"}
    assert services["gateway"]["depends_on"]["channels"]["condition"] == "service_healthy"
    for name in ("channels", "channels-worker"):
        env = services[name]["environment"]
        assert env["SHOPIFY_CONNECTOR_ADDR"] == "shopify-connector:50061", name
        assert env["WOOCOMMERCE_CONNECTOR_ADDR"] == "woocommerce-connector:50062", name
    assert services["channels-worker"]["environment"]["INVENTORY_ADDR"] == "inventory:50052"


# -------------------------------------------------------------------------------- Dockerfiles
@pytest.mark.parametrize("image", sorted(DOCKERFILES))
def test_dockerfile_is_multi_stage_pinned_non_root_and_hash_checked(image: str) -> None:
    text = (ROOT / DOCKERFILES[image]).read_text()
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.MULTILINE)
    assert base, "base image must be an overridable, pinned ARG"
    assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?(@sha256:[0-9a-f]{64})?", base.group(1))
    assert len(re.findall(r"^FROM \$\{PYTHON_IMAGE\} AS \w+$", text, re.MULTILINE)) == 2
    assert "pip install --require-hashes -r requirements.lock" in text
    assert "python -m grpc_tools.protoc -Iproto" in text
    assert "pip install --no-deps --no-build-isolation ." in text
    assert "COPY --from=builder /opt/venv /opt/venv" in text
    runtime = text.split("AS runtime", 1)[1]
    assert "USER 10001:10001" in runtime
    assert "COPY . " not in text and "COPY ./ " not in text, "copy only what the image needs"
    cmd = runtime.split("\nCMD ", 1)[1]
    assert "migrate" not in cmd and "alembic" not in cmd


@pytest.mark.parametrize("service", ["inventory", "channels"])
def test_image_carries_the_worker_config_the_worker_commands_use(service: str) -> None:
    dockerfile = (ROOT / f"services/{service}/Dockerfile").read_text()
    assert f"COPY services/{service}/worker.yaml /app/services/{service}/worker.yaml" in dockerfile
    command = ["nameko", "run", "--config", f"/app/services/{service}/worker.yaml", f"{service}.worker"]
    assert compose()["services"][f"{service}-worker"]["command"] == command
    worker = next(
        d for d in of_kind(base_objects(), "Deployment") if d["metadata"]["name"] == f"{service}-worker"
    )
    assert worker["spec"]["template"]["spec"]["containers"][0]["command"] == command


def test_every_image_runs_what_the_procfile_runs() -> None:
    """The Procfile is the source of truth for commands: each image's CMD, and the command of
    every compose service and Deployment, is a Procfile line (with container-only flags)."""
    procfile = dict(
        line.split(": ", 1)
        for line in (ROOT / "Procfile").read_text().splitlines()
        if line and not line.startswith("#")
    )
    for image, path in DOCKERFILES.items():
        if image == "gateway":  # gunicorn flags differ by design (bind address, tmp dir)
            continue
        cmd = json.loads((ROOT / path).read_text().split("\nCMD ", 1)[1].strip())
        assert " ".join(cmd) == procfile[image], image
    for name in ("inventory-worker", "channels-worker"):
        command = compose()["services"][name]["command"]
        assert " ".join(command).replace("/app/", "") == procfile[name], name
    for name in SANDBOXES:
        command = " ".join(compose()["services"][name]["command"])
        assert command.startswith(procfile[name].split(" --port")[0]) and "--demo" in command, name


def test_dockerignore_keeps_local_state_out_of_the_context() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "var", "libs/omnistock_protos/omnistock", "**/tests"} <= ignored
