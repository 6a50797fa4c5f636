"""Invariants of docker-compose.yml and the one parameterised Dockerfile, for whatever the
registry lists (the readers are omnistock_devtools.deploy_files; no Docker engine is needed).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from urllib.parse import urlparse

import pytest

from omnistock_devtools.deploy_files import (
    DOCKERFILE,
    GRPC_SERVERS,
    IMAGES,
    K8S,
    REGISTRY,
    ROOT,
    SANDBOXES,
    SERVICES,
    STATELESS,
    base_objects,
    compose,
    env_prefix,
    known_env_names,
    of_kind,
)


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
