"""The registry of deployables (deploy/deployables.toml) and the files generated from it.

A generated file that no longer matches the registry fails here; so does a registry that
contradicts itself (a call without an address, a port used twice) or the code's own defaults.
The acceptance case: a throwaway registry with one more connector yields a Procfile line, a
compose service, Kubernetes objects, its default port and its channel type's route, and `check`
names the lines pyproject.toml and channels/domain.py still need; one more service with a database
yields its role and database in create-databases.sql.
"""

from __future__ import annotations

import copy
import re
import runpy
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from channels.config import CONNECTOR_SERVICES
from channels.domain import CHANNEL_TYPES
from omnistock_common.config import DEFAULT_GATEWAY_PORT, DEFAULT_GRPC_PORTS, DEFAULT_SANDBOX_PORTS
from omnistock_devtools import registry as registry_module
from omnistock_devtools.registry import (
    CREATE_DATABASES_PATH,
    REGISTRY_PATH,
    TOPOLOGY_PATH,
    Registry,
    RegistryError,
    channel_types_in_source,
    generated_files,
    source_problems,
    stale_files,
    write_generated,
)

ROOT = Path(__file__).resolve().parents[2]
DEV_PACKAGES = ("honcho", "pytest", "_pytest", "ruff", "schemathesis", "omnistock_devtools")


def raw_registry() -> dict[str, Any]:
    with (ROOT / REGISTRY_PATH).open("rb") as handle:
        return tomllib.load(handle)


def test_generated_files_are_up_to_date() -> None:
    """`make generate` after every registry edit; this names the stale files otherwise."""
    assert stale_files(Registry.load()) == [], "run `make generate`"


def test_a_registry_change_makes_the_generated_files_stale(tmp_path: Path) -> None:
    """Guards the check above: change one port and the files that carry it are reported."""
    data = raw_registry()
    for entry in data["deployable"]:
        if entry["name"] == "woocommerce-connector":
            entry["port"] = 50069
    data["config"]["woocommerce-connector-config"]["WOOCOMMERCE_CONNECTOR_GRPC_PORT"] = "50069"
    for table in data["config"].values():
        for key, value in table.items():
            if value == "woocommerce-connector:50062":
                table[key] = "woocommerce-connector:50069"
    stale = stale_files(Registry.from_dict(data), ROOT)
    for path in (
        "docker-compose.yml",
        "k8s/base/config.yaml",
        "k8s/base/woocommerce-connector.yaml",
        "k8s/base/network-policies.yaml",
    ):
        assert path in stale
    assert "Procfile" not in stale  # commands did not change


def test_check_command_exits_non_zero_naming_a_stale_file(tmp_path: Path) -> None:
    root = make_tree(tmp_path)
    main = registry_module.main
    assert main(["--root", str(root), "check"]) == 0
    (root / "Procfile").write_text((root / "Procfile").read_text() + "extra: python -m nothing\n")
    assert main(["--root", str(root), "check"]) == 1


def test_the_registry_agrees_with_the_code_defaults() -> None:
    """Services default to omnistock_common.config's ports when no variable is set (the registry
    is not in the images): those come from the generated omnistock_common.topology, as does the
    channels' connector map."""
    registry = Registry.load()
    for deployable in registry.grpc:
        assert DEFAULT_GRPC_PORTS[deployable.env_prefix.lower()] == deployable.port, deployable.name
    (gateway,) = registry.of_kind("gateway")
    assert gateway.port == DEFAULT_GATEWAY_PORT
    for sandbox in registry.of_kind("sandbox"):
        vendor = sandbox.name.removesuffix("-sandbox")
        assert DEFAULT_SANDBOX_PORTS[vendor] == sandbox.port, sandbox.name
    assert CONNECTOR_SERVICES == {
        "shopify": "shopify_connector",
        "woocommerce": "woocommerce_connector",
        "tiktok": "tiktok_connector",
        # One connector may speak several channel types: Facebook Shop and Instagram Shopping.
        "facebook": "meta_connector",
        "instagram": "meta_connector",
        "amazon": "amazon_connector",
        "ebay": "ebay_connector",
    }
    assert set(CONNECTOR_SERVICES) == {t for t, kind in CHANNEL_TYPES.items() if kind.available}


def test_the_hand_written_files_agree_with_the_registry() -> None:
    """pyproject.toml's package lists and channels' channel types (`registry check` runs this)."""
    assert source_problems(Registry.load()) == []
    assert channel_types_in_source() == {t: kind.available for t, kind in CHANNEL_TYPES.items()}


def test_planned_ports_give_services_not_yet_built_an_address() -> None:
    data = raw_registry()
    data["project"]["planned_grpc_ports"] = {"analytics": 50056, "returns": 50057}
    assert Registry.from_dict(data).default_grpc_ports["analytics"] == 50056
    # A deployable of that name replaces the plan, wherever it listens.
    analytics = {
        **ACME,
        "name": "analytics",
        "kind": "grpc",
        "command": "python -m analytics.server",
        "port": 50058,
    }
    analytics.pop("channel_types")
    data["deployable"].append(analytics)
    data["config"]["acme-connector-config"] = {
        "ANALYTICS_GRPC_HOST": "0.0.0.0",
        "ANALYTICS_GRPC_PORT": "50058",
    }
    ports = Registry.from_dict(data).default_grpc_ports
    assert (ports["analytics"], ports["returns"]) == (50058, 50057)
    # Another deployable on a planned port is refused.
    analytics["port"] = 50057
    data["config"]["acme-connector-config"]["ANALYTICS_GRPC_PORT"] = "50057"
    with pytest.raises(RegistryError, match="port 50057 is planned for 'returns'"):
        Registry.from_dict(data)


# ------------------------------------------------------------------------------ validation
def broken(mutate: Any) -> str:
    data = raw_registry()
    mutate(data)
    with pytest.raises(RegistryError) as excinfo:
        Registry.from_dict(data)
    return str(excinfo.value)


def entry(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in data["deployable"] if e["name"] == name)


def test_a_port_used_twice_is_refused() -> None:
    assert "port 50051 is used twice" in broken(lambda d: entry(d, "inventory").update(port=50051))


def test_a_call_without_an_address_in_the_callers_config_is_refused() -> None:
    message = broken(lambda d: entry(d, "catalog")["calls"].append("channels"))
    assert "CHANNELS_ADDR=channels:50055" in message


def test_an_address_without_a_call_is_refused() -> None:
    """Every <X>_ADDR a deployable reads must be in its calls, or its NetworkPolicy would drop it."""
    message = broken(lambda d: entry(d, "channels-worker")["calls"].remove("inventory"))
    assert "INVENTORY_ADDR=inventory:50052 names a deployable missing from its calls" in message


def test_connector_channel_types_are_required_and_spoken_once() -> None:
    assert "a connector needs channel_types" in broken(
        lambda d: entry(d, "shopify-connector").pop("channel_types")
    )
    message = broken(lambda d: entry(d, "woocommerce-connector").update(channel_types=["shopify"]))
    assert "channel type 'shopify' is spoken by 'shopify-connector' and 'woocommerce-connector'" in message
    assert "only a connector has channel_types" in broken(
        lambda d: entry(d, "catalog").update(channel_types=["x"])
    )


def test_a_database_needs_a_dev_url_with_its_role_and_password() -> None:
    message = broken(
        lambda d: d["secrets"].update({"catalog-database-url": {"dev": "postgresql://postgres/catalog"}})
    )
    assert "catalog-database-url needs a dev URL with a role and a password" in message


def test_unknown_kind_config_secret_and_image_are_refused() -> None:
    assert "kind 'daemon'" in broken(lambda d: entry(d, "catalog").update(kind="daemon"))
    assert "no [config.nope]" in broken(lambda d: entry(d, "catalog")["config"].append("nope"))
    message = broken(lambda d: entry(d, "catalog").setdefault("secrets", {}).update(X_SECRET="missing-key"))
    assert "'missing-key', missing from [secrets]" in message
    assert "image 'ghost'" in broken(lambda d: entry(d, "inventory-worker").update(image="ghost"))
    assert "a worker serves no port" in broken(lambda d: entry(d, "inventory-worker").update(port=50099))


# ------------------------------------------------------------------------- adding one more
ACME = {
    "name": "acme-connector",
    "kind": "connector",
    "description": "acme-connector: a test connector",
    "command": "python -m acme_connector.server",
    "port": 50069,
    "channel_types": ["acme"],
    "config": ["acme-connector-config"],
    "secrets": {"REDIS_URL": "redis-url"},
    "replicas": {"min": 2, "max": 4, "min_available": 1},
    "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}},
}


def with_acme() -> Registry:
    """The current registry plus a connector that channels and its worker call."""
    data = copy.deepcopy(raw_registry())
    data["deployable"].append(ACME)
    data["config"]["acme-connector-config"] = {
        "ACME_CONNECTOR_GRPC_HOST": "0.0.0.0",
        "ACME_CONNECTOR_GRPC_PORT": "50069",
    }
    data["config"]["channels-config"]["ACME_CONNECTOR_ADDR"] = "acme-connector:50069"
    entry(data, "channels")["calls"].append("acme-connector")
    entry(data, "channels-worker")["calls"].append("acme-connector")
    return Registry.from_dict(data)


CHANNEL_TYPES_MODULE = "services/channels/channels/domain.py"


def make_tree(tmp_path: Path) -> Path:
    """A copy of the files generation reads, writes or checks, so a test can generate into it:
    k8s/, the registry, the generated files, pyproject.toml, channels' domain module and an empty
    folder for every package pyproject's `where` folders hold."""
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "k8s", root / "k8s")
    for name in (
        REGISTRY_PATH,
        "Procfile",
        "docker-compose.yml",
        "pyproject.toml",
        TOPOLOGY_PATH,
        CHANNEL_TYPES_MODULE,
    ):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, root / name)
    with (ROOT / "pyproject.toml").open("rb") as handle:
        where = tomllib.load(handle)["tool"]["setuptools"]["packages"]["find"]["where"]
    for folder in where:
        for init in (ROOT / folder).glob("*/__init__.py"):
            (root / folder / init.parent.name).mkdir(parents=True, exist_ok=True)
    return root


def test_one_registry_entry_adds_a_connector_everywhere(tmp_path: Path) -> None:
    registry = with_acme()
    root = make_tree(tmp_path)
    written = write_generated(registry, root)
    assert "k8s/base/acme-connector.yaml" in written
    assert stale_files(registry, root) == []

    procfile = (root / "Procfile").read_text().splitlines()
    assert "acme-connector: python -m acme_connector.server" in procfile

    services = yaml.safe_load((root / "docker-compose.yml").read_text())["services"]
    acme = services["acme-connector"]
    assert acme["build"] == {
        "context": ".",
        "dockerfile": "Dockerfile",
        "args": {"DEPLOYABLE": "acme-connector"},
    }
    assert acme["environment"]["ACME_CONNECTOR_GRPC_PORT"] == "50069"
    assert acme["healthcheck"]["test"][-1] == "127.0.0.1:50069"
    assert services["channels"]["environment"]["ACME_CONNECTOR_ADDR"] == "acme-connector:50069"

    objects = kustomize(root / "k8s/overlays/prod")
    kinds = {(obj["kind"], obj["metadata"]["name"]) for obj in objects}
    for kind in ("ServiceAccount", "Service", "Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget"):
        assert (kind, "acme-connector") in kinds, kind
    assert ("NetworkPolicy", "acme-connector-ingress") in kinds
    policy = next(o for o in objects if o["metadata"]["name"] == "acme-connector-ingress")
    callers = {
        (
            peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"],
            peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"],
        )
        for peer in policy["spec"]["ingress"][0]["from"]
    }
    assert callers == {("channels", "server"), ("channels", "worker")}
    deployment = next(
        o for o in objects if (o["kind"], o["metadata"]["name"]) == ("Deployment", "acme-connector")
    )
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == (
        "registry.example.com/omnistock/acme-connector:0.1.0"
    )

    # The running code's defaults: the connector's port and its channel type's route.
    topology = runpy.run_path(str(root / TOPOLOGY_PATH))
    assert topology["DEFAULT_GRPC_PORTS"]["acme_connector"] == 50069
    assert topology["CONNECTOR_SERVICES"]["acme"] == "acme_connector"


def test_check_names_each_hand_written_line_a_new_connector_still_needs(tmp_path: Path) -> None:
    registry = with_acme()
    root = make_tree(tmp_path)
    package = root / "services/channels/connectors/acme/acme_connector"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    write_generated(registry, root)
    problems = source_problems(registry, root)
    why = "(deployable 'acme-connector' runs acme_connector)"
    assert problems == [
        f'pyproject.toml [tool.setuptools.packages.find] where: add "services/channels/connectors/acme" {why}',
        f'pyproject.toml [tool.setuptools.packages.find] include: add "acme_connector*" {why}',
        f'pyproject.toml [tool.ruff.lint.isort] known-first-party: add "acme_connector" {why}',
        'services/channels/channels/domain.py CHANNEL_TYPES: add ChannelType("acme", "<display name>", '
        "AuthKind.OAUTH or AuthKind.API_KEY, (<capabilities>), available=True) (deployable 'acme-connector' speaks it)",
    ]

    # Make the edits the messages ask for: nothing is left to report.
    pyproject = (root / "pyproject.toml").read_text()
    pyproject = pyproject.replace(
        '    "services/channels/sandboxes",\n',
        '    "services/channels/sandboxes",\n    "services/channels/connectors/acme",\n',
    )
    pyproject = pyproject.replace('"channel_sandboxes*",\n]', '"channel_sandboxes*", "acme_connector*",\n]')
    pyproject = pyproject.replace('"channel_sandboxes",\n]', '"channel_sandboxes", "acme_connector",\n]')
    (root / "pyproject.toml").write_text(pyproject)
    domain = root / CHANNEL_TYPES_MODULE
    domain.write_text(
        domain.read_text().replace(
            "    for t in (\n",
            '    for t in (\n        ChannelType("acme", "Acme", AuthKind.API_KEY, ("inventory",), available=True),\n',
        )
    )
    assert source_problems(registry, root) == []


def test_check_names_an_available_channel_type_without_a_connector(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_tree(tmp_path)
    assert registry_module.main(["--root", str(root), "check"]) == 0
    domain = root / CHANNEL_TYPES_MODULE
    # A channel type marked available that no deployable's channel_types names.
    domain.write_text(
        domain.read_text().replace(
            "    for t in (\n",
            '    for t in (\n        ChannelType("acme", "Acme", AuthKind.API_KEY, ("inventory",), available=True),\n',
        )
    )
    assert channel_types_in_source(root)["acme"] is True
    assert source_problems(Registry.load(), root) == [
        'services/channels/channels/domain.py CHANNEL_TYPES: ChannelType("acme") is available=True but no '
        'connector speaks it: add channel_types = ["acme"] to its connector in deploy/deployables.toml, or set '
        "available=False"
    ]
    assert registry_module.main(["--root", str(root), "check"]) == 1
    assert (
        'edit: services/channels/channels/domain.py CHANNEL_TYPES: ChannelType("acme")'
        in capsys.readouterr().err
    )


LEDGER = {
    "name": "ledger",
    "kind": "grpc",
    "description": "ledger: a test service with a database",
    "command": "python -m ledger.server",
    "port": 50057,
    "database": "ledger",
    "config": ["ledger-config"],
    "replicas": {"min": 2, "max": 4, "min_available": 1},
    "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}},
}


def test_one_registry_entry_gives_a_service_its_database_role_and_default_port(tmp_path: Path) -> None:
    data = copy.deepcopy(raw_registry())
    data["deployable"].append(LEDGER)
    data["config"]["ledger-config"] = {"LEDGER_GRPC_HOST": "0.0.0.0", "LEDGER_GRPC_PORT": "50057"}
    data["secrets"]["ledger-database-url"] = {
        "dev": "postgresql://ledger:ledger-dev-only@postgres:5432/ledger"
    }
    registry = Registry.from_dict(data)
    root = make_tree(tmp_path)
    written = write_generated(registry, root)
    assert {CREATE_DATABASES_PATH, TOPOLOGY_PATH, "docker-compose.yml"} <= set(written)
    sql = (root / CREATE_DATABASES_PATH).read_text()
    for line in (
        "CREATE ROLE ledger LOGIN PASSWORD 'ledger-dev-only';",
        "CREATE DATABASE ledger OWNER ledger;",
        "REVOKE CONNECT ON DATABASE ledger FROM PUBLIC;",
    ):
        assert line in sql.splitlines()
    assert runpy.run_path(str(root / TOPOLOGY_PATH))["DEFAULT_GRPC_PORTS"]["ledger"] == 50057
    migrate = yaml.safe_load((root / "docker-compose.yml").read_text())["services"]["migrate"]
    assert migrate["command"][-1] == "ledger"
    assert stale_files(registry, root) == []


def kustomize(path: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    output = subprocess.run(
        [kubectl, "kustomize", str(path)], check=True, capture_output=True, text=True
    ).stdout
    return [doc for doc in yaml.safe_load_all(output) if doc]


def test_a_removed_deployable_leaves_no_manifest_behind(tmp_path: Path) -> None:
    root = make_tree(tmp_path)
    data = raw_registry()
    data["deployable"] = [e for e in data["deployable"] if e["name"] != "inventory-worker"]
    registry = Registry.from_dict(data)
    assert "k8s/base/inventory-worker.yaml (no such deployable)" in stale_files(registry, root)
    write_generated(registry, root)
    assert not (root / "k8s/base/inventory-worker.yaml").exists()
    assert "inventory-worker" not in (root / "Procfile").read_text()


def test_generation_is_deterministic() -> None:
    registry = Registry.load()
    assert generated_files(registry) == generated_files(Registry.load())


# --------------------------------------------------------------- images without dev tools
def locked(path: Path) -> dict[str, str]:
    return dict(re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+)", path.read_text(), re.MULTILINE))


def test_runtime_lock_is_the_dev_lock_minus_dev_tools() -> None:
    runtime = locked(ROOT / "requirements-runtime.lock")
    full = locked(ROOT / "requirements.lock")
    assert runtime, "empty runtime lock"
    for dev in ("honcho", "pytest", "pytest-timeout", "ruff", "schemathesis", "hypothesis"):
        assert dev not in runtime, f"{dev} is a dev tool: not in images"
    mismatched = {
        name: (version, full.get(name)) for name, version in runtime.items() if full.get(name) != version
    }
    assert not mismatched, f"runtime pins must equal requirements.lock's (make lock-runtime): {mismatched}"
    with (ROOT / "pyproject.toml").open("rb") as handle:
        dependencies = tomllib.load(handle)["project"]["dependencies"]
    direct = {re.split(r"[<>=!\[ ;]", dep, maxsplit=1)[0].lower() for dep in dependencies}
    assert direct <= {name.lower() for name in runtime}, direct - {name.lower() for name in runtime}
    text = (ROOT / "requirements-runtime.lock").read_text()
    pins = [block for block in re.split(r"\n(?=[A-Za-z])", text) if "==" in block]
    assert len(pins) == len(runtime)
    assert all("--hash=sha256:" in pin for pin in pins), "every pin is hash-checked (pip --require-hashes)"


BLOCKER = """
import importlib.abc, sys
DEV = {dev!r}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in DEV:
            raise ImportError(f"dev package {{name}} imported at runtime")
        return None
sys.meta_path.insert(0, Block())
"""


@pytest.mark.parametrize("image", sorted(Registry.load().images))
def test_every_deployable_imports_without_dev_packages(image: str, tmp_path: Path) -> None:
    """What an image runs must not need honcho, pytest, ruff, schemathesis or the dev tools
    library (the image has none of them): import each module with those imports refused."""
    # check_imports lives in the registry package, which is dev tooling itself: run a copy of it
    # as the top-level `registry`, as the Dockerfile does, so the blocker applies to everything
    # the deployables import.
    shutil.copytree(
        Path(registry_module.__file__).parent,
        tmp_path / "registry",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    script = BLOCKER.format(dev=DEV_PACKAGES) + (
        "import runpy\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        f"sys.argv = ['registry', '--root', {str(ROOT)!r}, 'imports', {image!r}]\n"
        "runpy.run_module('registry', run_name='__main__', alter_sys=True)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd="/"
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_builder_stage_installs_our_packages_without_the_dev_tools(tmp_path: Path) -> None:
    """The builder's steps, run here: drop libs/omnistock_devtools, generate the stubs, install
    the project non-editable; the result holds every service package and no omnistock_devtools,
    and each deployable imports from it with the dev packages refused."""
    src = tmp_path / "src"
    src.mkdir()
    for part in ("pyproject.toml", "proto", "libs", "services"):
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(
                source,
                src / part,
                ignore=shutil.ignore_patterns("__pycache__", "tests", ".stamp", "*.egg-info"),
            )
        else:
            shutil.copy(source, src / part)
    shutil.rmtree(src / "libs/omnistock_devtools")
    shutil.rmtree(src / "libs/omnistock_protos/omnistock", ignore_errors=True)  # generated below
    protos = [str(p.relative_to(src)) for p in (src / "proto").rglob("*.proto")]
    out = src / "libs/omnistock_protos"
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "-Iproto", f"--python_out={out}", f"--pyi_out={out}",
         f"--grpc_python_out={out}", *protos],
        cwd=src, check=True, capture_output=True,
    )  # fmt: skip
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(site), "."],
        cwd=src, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    installed = {p.name for p in site.iterdir()}
    assert "omnistock_devtools" not in installed
    registry = Registry.load()
    packages = {d.module.split(".")[0] for d in registry.deployables}
    assert packages <= installed, packages - installed
    modules = sorted({d.module for d in registry.deployables if d.kind != "gateway"})
    script = BLOCKER.format(dev=DEV_PACKAGES) + (
        f"sys.path.insert(0, {str(site)!r})\n"
        "import importlib\n"
        f"for name in {modules!r}:\n"
        "    module = importlib.import_module(name)\n"
        f"    assert module.__file__.startswith({str(site)!r}), (name, module.__file__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd="/"
    )
    assert done.returncode == 0, done.stdout + done.stderr


# ------------------------------------------------------------- the dev runner and the harness
def test_make_run_takes_every_port_from_the_registry_and_its_variables() -> None:
    from omnistock_common.config import EnvReader
    from omnistock_devtools.devrun import local_ports, port_variable

    registry = Registry.load()
    ports = local_ports(registry, EnvReader({"CATALOG_GRPC_PORT": "6001", "GATEWAY_PORT": "9090"}))
    assert ports == {
        d.name: {"catalog": 6001, "gateway": 9090}.get(d.name, d.port) for d in registry.deployables if d.port
    }
    assert port_variable(registry.get("shopify-connector")) == "SHOPIFY_CONNECTOR_GRPC_PORT"
    assert port_variable(registry.get("woocommerce-sandbox")) == "WOOCOMMERCE_SANDBOX_PORT"
    env = EnvReader({"SHOPIFY_SANDBOX_PORT": "not-a-port"})
    local_ports(registry, env)
    assert env.problems == ["SHOPIFY_SANDBOX_PORT='not-a-port' is not an integer"]


def test_full_stack_harness_wires_every_registry_port(tmp_path: Path) -> None:
    from omnistock_devtools.fullstack import (
        GRPC_SERVICES,
        MIGRATED_SERVICES,
        SANDBOXES,
        FullStack,
        StackError,
    )

    registry = Registry.load()
    assert {d.name: d.env_prefix for d in registry.grpc} == GRPC_SERVICES
    assert {d.name: d.port_env for d in registry.of_kind("sandbox")} == SANDBOXES
    assert tuple(registry.databases) == MIGRATED_SERVICES
    stack = FullStack(tmp_path, {}, "redis://127.0.0.1:6379/7", "amqp://guest:guest@127.0.0.1:5672/h7")
    stack.ports = {d.name: 40000 + i for i, d in enumerate(registry.deployables) if d.port}
    env = stack.process_env()
    for deployable in registry.deployables:
        port = stack.ports.get(deployable.name)
        if deployable.is_grpc:
            assert env[f"{deployable.env_prefix}_GRPC_PORT"] == str(port)
            assert env[f"{deployable.env_prefix}_ADDR"] == f"127.0.0.1:{port}"
        elif deployable.port_env:
            assert env[deployable.port_env] == str(port), deployable.name
    with pytest.raises(StackError, match=r"not in deploy/deployables\.toml"):
        stack.start(["no-such-process"])


def test_gateway_readiness_checks_what_the_registry_says_it_calls() -> None:
    """`make run` and the harness set GATEWAY_BACKENDS from the gateway's calls (limited to the
    processes a partial stack runs), in the names the gateway's settings accept."""
    from gateway.config import load_settings

    registry = Registry.load()
    (gateway,) = registry.of_kind("gateway")
    names = registry.backends_of(gateway)
    assert names == [registry.get(callee).env_prefix.lower() for callee in gateway.calls]
    assert {"catalog", "inventory", "channels"} <= set(names)
    assert registry.backends_of(gateway, ["catalog", "gateway", "shopify-sandbox"]) == ["catalog"]
    settings = load_settings({"GATEWAY_BACKENDS": ",".join(names)})
    assert list(settings.backends) == names
