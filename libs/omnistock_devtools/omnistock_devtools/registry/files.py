"""The set of generated files: what each should hold, which are stale, rewriting them."""

from __future__ import annotations

from pathlib import Path

from .k8s import (
    render_config_maps,
    render_dev_secrets,
    render_images_region,
    render_k8s_deployable,
    render_kustomization,
    render_network_policies,
    render_pdbs,
)
from .model import REGION_BEGIN, REGION_END, ROOT, Registry, RegistryError
from .render import render_compose, render_procfile
from .runtime_files import CREATE_DATABASES_PATH, TOPOLOGY_PATH, render_create_databases, render_topology


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
        Path(CREATE_DATABASES_PATH): render_create_databases(reg),
        Path(TOPOLOGY_PATH): render_topology(reg),
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
