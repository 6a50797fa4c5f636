"""Invariants of the deployment files: k8s/ (kustomize), docker-compose.yml, the Dockerfile.

Most of these files are generated from deploy/deployables.toml (test_registry.py checks they
are current); the rules below hold for whatever the registry lists.

No Docker engine or cluster is needed: the files are parsed, the kustomize overlays are
rendered with `kubectl kustomize` when kubectl is installed, and every rule that keeps a
deployment safe is checked on the result (probes, limits, non-root, read-only root, secrets
by reference, migrations outside the serving entrypoint, env var names the code really reads).
"""

from __future__ import annotations

import ast
import base64
import re
import shlex
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
from omnistock_devtools.registry import Registry

ROOT = Path(__file__).resolve().parents[2]
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


def keeps_no_data(obj: dict[str, Any]) -> bool:
    """The object runs a deployable without a database: known by its pod's deployable label, since
    a worker may run another service's image (live-worker: the gateway's) without its database."""
    labels = obj["spec"]["template"].get("metadata", {}).get("labels", {})
    return labels.get("omnistock.io/deployable", service_of(obj)) in STATELESS


def env_prefix(name: str) -> str:
    """`shopify-connector` -> `SHOPIFY_CONNECTOR` (the settings prefix of that service)."""
    return name.replace("-", "_").upper()


# ---------------------------------------------------------------------------- k8s invariants
@pytest.mark.parametrize("target", TARGETS)
def test_every_container_is_hardened_and_bounded(target: str) -> None:
    objects = manifests(target)
    pods = list(pod_specs(objects))
    assert len(pods) == len(KUBERNETES) + len(SERVICES)  # a Deployment each + the migration Jobs
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
    assert {d["metadata"]["name"] for d in deployments} == set(KUBERNETES)
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
        if keeps_no_data(deployment):  # no database: nothing to wait for
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
            if keeps_no_data(obj):
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
    tokens); the OAuth state secret only the server; each app's credentials (Shopify, Meta, TikTok,
    Amazon) only its connector;
    migrations and init containers only get their database URL."""
    objects = manifests(target)
    token = "INTERNAL_TOKEN_SECRET"  # every long-running process signs or checks service tokens
    needs = {
        "channels": {"CHANNELS_DATABASE_URL", "CREDENTIALS_KEYS", "OAUTH_STATE_SECRET", "REDIS_URL", token},
        "channels-worker": {"CHANNELS_DATABASE_URL", "CREDENTIALS_KEYS", "REDIS_URL", "AMQP_URL", token},
        "shopify-connector": {
            "REDIS_URL",
            "SHOPIFY_CLIENT_ID",
            "SHOPIFY_CLIENT_SECRET",
            "SHOPIFY_PREVIOUS_CLIENT_SECRET",
            token,
        },
        "woocommerce-connector": {"REDIS_URL", token},
        "meta-connector": {
            "REDIS_URL",
            "META_APP_ID",
            "META_APP_SECRET",
            "META_WEBHOOK_VERIFY_TOKEN",
            "META_PREVIOUS_APP_SECRET",
            token,
        },
        "tiktok-connector": {
            "REDIS_URL",
            "TIKTOK_APP_KEY",
            "TIKTOK_APP_SECRET",
            "TIKTOK_SERVICE_ID",
            "TIKTOK_PREVIOUS_APP_SECRET",
            token,
        },
        "amazon-connector": {
            "REDIS_URL",
            "AMAZON_LWA_CLIENT_ID",
            "AMAZON_LWA_CLIENT_SECRET",
            "AMAZON_APP_ID",
            token,
        },
        "ebay-connector": {
            "REDIS_URL",
            "EBAY_CLIENT_ID",
            "EBAY_CLIENT_SECRET",
            "EBAY_RU_NAME",
            "EBAY_VERIFICATION_TOKEN",
            token,
        },
        "catalog": {"CATALOG_DATABASE_URL", token},
        "catalog-worker": {"CATALOG_DATABASE_URL", "AMQP_URL", token},
        "inventory": {"INVENTORY_DATABASE_URL", token},
        "inventory-worker": {"INVENTORY_DATABASE_URL", "AMQP_URL", token},
        "orders": {"ORDERS_DATABASE_URL", token},
        "orders-worker": {"ORDERS_DATABASE_URL", "AMQP_URL", token},
        "pricing": {"PRICING_DATABASE_URL", token},
        "pricing-worker": {"PRICING_DATABASE_URL", "AMQP_URL", token},
        "gateway": {"GATEWAY_DATABASE_URL", "GATEWAY_JWT_SECRET", "REDIS_URL", token},
        "live-worker": {"AMQP_URL", "REDIS_URL", token},
    }
    assert set(needs) == set(KUBERNETES), "state what each new deployable may read"
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
        name for name, d in KUBERNETES.items() if d.component == "server"
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
    assert set(ours) == {"migrate", *(d.name for d in REGISTRY.deployables)}
    for name, svc in ours.items():
        assert svc["build"]["context"] == "."
        assert svc["build"]["dockerfile"] == "Dockerfile", name
        image = svc["image"].rsplit(":", 1)[0]
        assert image in IMAGES and image == REGISTRY.image_name(svc["build"]["args"]["DEPLOYABLE"]), name
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
    # Published on the loopback interface only: a laptop's dev secrets are not a public service.
    assert services["gateway"]["ports"] == ["127.0.0.1:8080:8080"]
    for name, svc in services.items():
        for port in svc.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"


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


# -------------------------------------------------------------------------------- Dockerfile
def test_one_parameterised_dockerfile_is_multi_stage_pinned_non_root_and_hash_checked() -> None:
    assert sorted(
        p.relative_to(ROOT).as_posix() for p in ROOT.glob("**/Dockerfile*") if ".venv" not in p.parts
    ) == ["Dockerfile"], "one Dockerfile for every image (--build-arg DEPLOYABLE=...)"
    text = DOCKERFILE.read_text()
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.MULTILINE)
    assert base, "base image must be an overridable, pinned ARG"
    assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?(@sha256:[0-9a-f]{64})?", base.group(1))
    assert len(re.findall(r"^FROM \$\{PYTHON_IMAGE\} AS \w+$", text, re.MULTILINE)) == 2
    builder, runtime = text.split("AS runtime", 1)
    assert "ARG DEPLOYABLE" in builder
    # Runtime dependencies only, hash-checked; our packages without the dev tools library.
    assert "pip install --require-hashes -r requirements-runtime.lock" in builder
    assert "requirements.lock" not in builder.replace("requirements-runtime.lock", "")
    assert "rm -rf libs/omnistock_devtools" in builder
    assert builder.index("rm -rf libs/omnistock_devtools") < builder.index(
        "pip install --no-deps --no-build-isolation ."
    )
    assert "pip install -e" not in text and "--editable" not in text
    # Stubs generated inside, the registry prepares the image and checks its imports.
    assert "python -m grpc_tools.protoc -Iproto" in builder
    assert 'image "$DEPLOYABLE" --app /app --bin /opt/venv/bin' in builder
    assert 'imports "$DEPLOYABLE"' in builder
    assert "COPY --from=builder /opt/venv /opt/venv" in runtime
    assert "COPY --from=builder /app /app" in runtime
    assert "USER 10001:10001" in runtime
    assert "COPY . " not in text and "COPY ./ " not in text, "copy only what the image needs"
    assert runtime.rstrip().endswith('CMD ["omnistock-start"]')
    assert 'CMD ["omnistock-healthcheck"]' in runtime
    assert "migrate" not in runtime.split("\nCMD ", 1)[1] and "alembic" not in runtime


@pytest.mark.parametrize("image", sorted(REGISTRY.images))
def test_image_start_script_runs_the_registry_command_and_carries_its_files(
    image: str, tmp_path: Path
) -> None:
    """What the builder stage writes for each image: the default command is the deployable's
    container command (what compose and Kubernetes run), the probe its probe, and every file a
    deployable of that image needs (worker configs) is where its command looks for it."""
    from omnistock_devtools.registry import prepare_image

    prepare_image(REGISTRY, image, tmp_path / "app", tmp_path / "bin")
    main = REGISTRY.get(image)
    start = (tmp_path / "bin/omnistock-start").read_text().splitlines()
    assert start[0] == "#!/bin/sh" and start[-1] == f'exec {shlex.join(main.container_command)} "$@"'
    if main.is_grpc:
        assert f'export {main.env_prefix}_GRPC_HOST="${{{main.env_prefix}_GRPC_HOST:-0.0.0.0}}"' in start
    check = (tmp_path / "bin/omnistock-healthcheck").read_text().splitlines()
    assert check[-1] == f'exec {shlex.join(main.container_probe())} "$@"'
    for deployable in REGISTRY.image_deployables(image):
        for relative in deployable.files:
            assert (tmp_path / "app" / relative).read_text() == (ROOT / relative).read_text()
            assert relative in deployable.container_command, f"{deployable.name} does not use {relative}"


def test_compose_and_kubernetes_run_the_registry_commands() -> None:
    """The registry is the source of truth for commands: each compose service and Deployment runs
    its deployable's container command (the image default for an image's own deployable)."""
    services = compose()["services"]
    deployments = {d["metadata"]["name"]: d for d in of_kind(base_objects(), "Deployment")}
    for deployable in REGISTRY.deployables:
        command = services[deployable.name].get("command")
        if deployable.image == deployable.name and deployable.kind != "sandbox":
            assert command is None, f"{deployable.name}: the image's omnistock-start runs it"
        else:
            assert command == list(deployable.container_command), deployable.name
        if deployable.in_kubernetes:
            container = deployments[deployable.name]["spec"]["template"]["spec"]["containers"][0]
            assert container["command"] == list(deployable.container_command), deployable.name
    procfile = dict(
        line.split(": ", 1)
        for line in (ROOT / "Procfile").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert procfile == {d.name: d.command for d in REGISTRY.deployables}


def test_the_images_carry_the_dashboard_built_from_its_lock_file() -> None:
    """The gateway serves web/dist (gateway.web): the image builds it in a pinned Node stage from
    web/package-lock.json (npm ci), never from a developer's local build."""
    text = DOCKERFILE.read_text()
    node = re.search(r"^ARG NODE_IMAGE=(\S+)$", text, re.MULTILINE)
    assert node and re.fullmatch(r"node:\d+\.\d+\.\d+-\w+(-slim)?(@sha256:[0-9a-f]{64})?", node.group(1))
    web, runtime = text.split("AS runtime", 1)
    assert "FROM ${NODE_IMAGE} AS web" in web and "npm ci" in web and "npm run build" in web
    assert "COPY --from=web /web/dist /app/web/dist" in runtime
    assert "GATEWAY_WEB_DIST_DIR=/app/web/dist" in runtime
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {"web/node_modules", "web/dist"} <= ignored


def test_dockerignore_keeps_local_state_out_of_the_context() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "var", "libs/omnistock_protos/omnistock", "**/tests"} <= ignored


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


@pytest.mark.parametrize("target", TARGETS)
def test_ingress_is_denied_by_default_and_allowed_only_from_callers(target: str) -> None:
    """Every pod's ingress is closed unless a policy opens it; the gateway is reachable only from
    the Ingress controller's namespace; each gRPC server only from the deployables that call it
    (a connector from channels and its worker, nothing else); workers and Jobs from nobody."""
    objects = manifests(target)
    deny = [p for p in policies(objects) if p["spec"]["podSelector"] == {}]
    assert (
        len(deny) == 1
        and deny[0]["spec"]["policyTypes"] == ["Ingress"]
        and not deny[0]["spec"].get("ingress")
    )
    deployments = {d["metadata"]["name"]: d for d in of_kind(objects, "Deployment")}
    for name, deployable in KUBERNETES.items():
        labels = pod_labels(deployments[name])
        opening = [
            p
            for p in policies(objects)
            if p["spec"]["podSelector"] and selects(p["spec"]["podSelector"], labels)
        ]
        if deployable.port is None:
            assert not opening, f"{name} serves nothing: no policy may open it"
            continue
        (policy,) = opening
        (rule,) = policy["spec"]["ingress"]
        assert rule["ports"] == [{"protocol": "TCP", "port": deployable.port}], name
        if deployable.kind == "gateway":
            (peer,) = rule["from"]
            assert set(peer) == {"namespaceSelector"}, "the gateway: from the Ingress controller only"
            assert peer["namespaceSelector"]["matchLabels"] == {
                "kubernetes.io/metadata.name": REGISTRY.project["ingress_namespace"]
            }
            continue
        callers = {
            name
            for name, d in KUBERNETES.items()
            if admitted(objects, labels, pod_labels(deployments[name]), deployable.port)
        }
        assert callers == {d.name for d in REGISTRY.callers_of(name)}, name
        assert "gateway" not in callers or deployable.kind == "grpc", (
            f"the gateway never calls a connector: {name}"
        )
        if deployable.kind == "connector":
            assert callers == {"channels", "channels-worker"}, name
    # Pods of other namespaces never reach a service (only the gateway admits a namespace).
    for policy in policies(objects):
        for rule in policy["spec"].get("ingress", []):
            for peer in rule.get("from", []):
                if "namespaceSelector" in peer:
                    assert policy["metadata"]["name"] == "gateway-ingress", policy["metadata"]["name"]
                assert "ipBlock" not in peer, policy["metadata"]["name"]


@pytest.mark.parametrize("target", TARGETS)
def test_every_address_a_pod_reads_is_admitted_by_the_callees_policy(target: str) -> None:
    """The other direction: a <X>_ADDR in a container's env is a call the policies must allow,
    or the call would time out in a cluster that enforces them."""
    objects = manifests(target)
    deployments = {d["metadata"]["name"]: d for d in of_kind(objects, "Deployment")}
    services = {s["metadata"]["name"]: s for s in of_kind(objects, "Service")}
    for name, deployment in deployments.items():
        env = effective_env(deployment["spec"]["template"]["spec"]["containers"][0], objects)
        for key, value in env.items():
            if key.endswith("_ADDR"):
                host, port = value.rsplit(":", 1)
                callee = services[host]["spec"]["selector"]
                assert admitted(objects, callee, pod_labels(deployment), int(port)), f"{name}: {key}={value}"


def long_running_env(objects: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    for deployment in of_kind(objects, "Deployment"):
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        yield deployment["metadata"]["name"], container, effective_env(container, objects)


def test_prod_runs_in_production_mode_without_reflection_or_allowed_hosts() -> None:
    objects = manifests("overlays/prod")
    for name, _, env in long_running_env(objects):
        assert env["OMNISTOCK_ENV"] == "production", name
        assert env["GRPC_REFLECTION"] == "false", name
        # Tenants reach the vendors' own hosts only: no exceptions in production.
        assert env.get("CHANNEL_ALLOWED_HOSTS", "") == "", name
    gateway = next(env for name, _, env in long_running_env(objects) if name == "gateway")
    assert gateway["GATEWAY_TRUSTED_PROXIES"] == "1", "behind the Ingress: one trusted proxy"
    (ingress,) = of_kind(objects, "Ingress")
    backends = {
        path["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    assert backends == {"gateway"}, "only the gateway is exposed"
    assert ingress["spec"]["tls"], "HTTPS at the Ingress"


@pytest.mark.parametrize("target", ["base", "overlays/dev"])
def test_non_prod_targets_keep_development_defaults(target: str) -> None:
    """The production switches live in the prod overlay only (dev needs reflection for grpcurl)."""
    for name, _, env in long_running_env(manifests(target)):
        assert "OMNISTOCK_ENV" not in env and "GRPC_REFLECTION" not in env, name
        if name == "gateway":
            assert env["GATEWAY_TRUSTED_PROXIES"] == "0", "no proxy in front unless an overlay adds one"
    assert of_kind(manifests(target), "Ingress") == []


@pytest.mark.parametrize("target", TARGETS)
def test_every_long_running_process_gets_the_internal_token_secret_from_the_secret(target: str) -> None:
    for name, container, _ in long_running_env(manifests(target)):
        assert secret_refs(container)["INTERNAL_TOKEN_SECRET"] == "internal-token-secret", name


def test_redis_and_rabbitmq_require_credentials_everywhere() -> None:
    """No guest:guest and no password-less Redis: in the dev Secret, in compose, in the brokers
    compose starts (which must accept exactly those credentials)."""
    (secret,) = of_kind(manifests("overlays/dev"), "Secret")
    values = {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}
    services = compose()["services"]
    urls = [("dev secret", values["redis-url"]), ("dev secret", values["amqp-url"])]
    for name, svc in services.items():
        for key in ("REDIS_URL", "AMQP_URL"):
            if key in svc.get("environment", {}):
                urls.append((name, svc["environment"][key]))
    assert len(urls) > 2
    for where, url in urls:
        parsed = urlparse(url)
        assert parsed.password, f"{where}: {url} has no password"
        assert parsed.username != "guest" and parsed.password != "guest", f"{where}: {url}"
    redis_url = urlparse(values["redis-url"])
    assert services["redis"]["command"] == ["redis-server", "--requirepass", redis_url.password]
    amqp_url = urlparse(values["amqp-url"])
    rabbit = services["rabbitmq"]["environment"]
    assert (rabbit["RABBITMQ_DEFAULT_USER"], rabbit["RABBITMQ_DEFAULT_PASS"]) == (
        amqp_url.username,
        amqp_url.password,
    )
    assert rabbit["RABBITMQ_DEFAULT_VHOST"] == amqp_url.path.lstrip("/")
    assert "guest" not in COMPOSE.read_text()
    for path in K8S.rglob("*"):
        if path.is_file():
            assert "guest:guest" not in path.read_text(), path
