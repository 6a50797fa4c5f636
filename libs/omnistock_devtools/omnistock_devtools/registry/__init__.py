"""The registry of deployables (deploy/deployables.toml) and everything generated from it.

One entry per process; the Procfile, docker-compose.yml, the Kubernetes base, the prod
PodDisruptionBudgets, the dev overlay's Secret and the overlays' image lists are rendered from
it, so adding a deployable is one entry plus `make generate`. `check` reports generated files
that are stale and hand-written files (pyproject.toml's package lists, channels' channel types)
that disagree with the registry (tests/deploy runs it). `image <name>` is what the Dockerfile's builder stage
runs: it only needs the standard library, so this package imports nothing of ours, and only
relative imports inside itself (the Dockerfile runs a copy of it as the top-level `registry`).

    python -m omnistock_devtools.registry generate   # rewrite the generated files
    python -m omnistock_devtools.registry check      # exit 1 naming each stale file or line to add
    python -m omnistock_devtools.registry image catalog --app /app --bin /opt/venv/bin
    python -m omnistock_devtools.registry imports catalog   # each module of that image imports

model.py loads and checks the registry, render.py writes the Procfile and compose file (and the
YAML helpers), k8s.py the Kubernetes files, runtime_files.py omnistock_common's topology module
(default ports, connector map) and create-databases.sql, files.py the set of generated files,
sources.py checks the hand-written files, image.py the Dockerfile's steps, cli.py the command line.
"""

from __future__ import annotations

from .cli import main
from .files import generated_files, replace_region, stale_files, write_generated
from .image import check_imports, prepare_image
from .k8s import (
    network_policies,
    render_config_maps,
    render_dev_secrets,
    render_images_region,
    render_k8s_deployable,
    render_kustomization,
    render_network_policies,
    render_pdbs,
)
from .model import (
    GENERATED_HEADER,
    GRPC_KINDS,
    KINDS,
    REGISTRY_PATH,
    ROOT,
    Deployable,
    Registry,
    RegistryError,
)
from .render import compose_environment, render_compose, render_procfile
from .runtime_files import CREATE_DATABASES_PATH, TOPOLOGY_PATH, render_create_databases, render_topology
from .sources import channel_type_problems, channel_types_in_source, pyproject_problems, source_problems

__all__ = [
    "CREATE_DATABASES_PATH",
    "GENERATED_HEADER",
    "GRPC_KINDS",
    "KINDS",
    "REGISTRY_PATH",
    "ROOT",
    "TOPOLOGY_PATH",
    "Deployable",
    "Registry",
    "RegistryError",
    "channel_type_problems",
    "channel_types_in_source",
    "check_imports",
    "compose_environment",
    "generated_files",
    "main",
    "network_policies",
    "prepare_image",
    "pyproject_problems",
    "render_compose",
    "render_config_maps",
    "render_create_databases",
    "render_dev_secrets",
    "render_images_region",
    "render_k8s_deployable",
    "render_kustomization",
    "render_network_policies",
    "render_pdbs",
    "render_procfile",
    "render_topology",
    "replace_region",
    "source_problems",
    "stale_files",
    "write_generated",
]
