"""Invariants of the Kubernetes manifests under k8s/ (kustomize), for whatever the registry lists.

Most of these files are generated from deploy/deployables.toml (test_registry.py checks they
are current). No cluster is needed: the files are parsed, the overlays are rendered with
`kubectl kustomize` when kubectl is installed, and every rule that keeps a deployment safe is
checked on the result (probes, limits, non-root, read-only root, secrets by reference,
migrations outside the serving entrypoint, network policies, env var names the code really
reads). The readers are omnistock_devtools.deploy_files.
"""

from __future__ import annotations

import base64
from urllib.parse import urlparse

import pytest

from omnistock_devtools.deploy_files import (
    COMPOSE,
    GRPC_SERVERS,
    K8S,
    KUBERNETES,
    OPTIONAL_SECRET_KEYS,
    REGISTRY,
    SECRET_KEYS,
    SECRET_NAME,
    SENSITIVE,
    SERVICES,
    TARGETS,
    admitted,
    all_containers,
    component_of,
    compose,
    effective_env,
    env_prefix,
    image_repository,
    keeps_no_data,
    known_env_names,
    load_yaml_documents,
    long_running_env,
    manifests,
    of_kind,
    pod_labels,
    pod_specs,
    policies,
    secret_refs,
    selects,
    service_of,
)


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
