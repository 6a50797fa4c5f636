"""The registry of deployables (deploy/deployables.toml) and everything generated from it.

One entry per process; the Procfile, docker-compose.yml, the Kubernetes base, the prod
PodDisruptionBudgets, the dev overlay's Secret and the overlays' image lists are rendered from
it, so adding a deployable is one entry plus `make generate`. `check` reports generated files
that are stale (tests/deploy runs it). `image <name>` is what the Dockerfile's builder stage
runs: it only needs the standard library, so this package imports nothing of ours, and only
relative imports inside itself (the Dockerfile runs a copy of it as the top-level `registry`).

    python -m omnistock_devtools.registry generate   # rewrite the generated files
    python -m omnistock_devtools.registry check      # exit 1 naming each stale file
    python -m omnistock_devtools.registry image catalog --app /app --bin /opt/venv/bin
    python -m omnistock_devtools.registry imports catalog   # each module of that image imports

model.py loads and checks the registry, render.py writes the Procfile and compose file (and the
YAML helpers), k8s.py the Kubernetes files, files.py the set of generated files, image.py the
Dockerfile's steps, cli.py the command line.
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

__all__ = [
    "GENERATED_HEADER",
    "GRPC_KINDS",
    "KINDS",
    "REGISTRY_PATH",
    "ROOT",
    "Deployable",
    "Registry",
    "RegistryError",
    "check_imports",
    "compose_environment",
    "generated_files",
    "main",
    "network_policies",
    "prepare_image",
    "render_compose",
    "render_config_maps",
    "render_dev_secrets",
    "render_images_region",
    "render_k8s_deployable",
    "render_kustomization",
    "render_network_policies",
    "render_pdbs",
    "render_procfile",
    "replace_region",
    "stale_files",
    "write_generated",
]
