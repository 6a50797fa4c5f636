"""What the Dockerfile's builder stage runs for one image (standard library only)."""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

from .model import ROOT, Registry, RegistryError


def prepare_image(reg: Registry, image: str, app_dir: Path, bin_dir: Path, root: Path = ROOT) -> None:
    """What the Dockerfile's builder stage needs for one image: the non-Python files its
    deployables use (under app_dir), `omnistock-start` (the image's default command) and
    `omnistock-healthcheck` (its default HEALTHCHECK), both in bin_dir."""
    deployables = reg.image_deployables(image)
    if not deployables or deployables[0].name != image:
        known = ", ".join(d.name for d in reg.deployables if d.name == d.image)
        raise RegistryError(f"DEPLOYABLE={image!r} is not an image (one of: {known})")
    main = deployables[0]
    app_dir.mkdir(parents=True, exist_ok=True)
    for d in deployables:
        for relative in d.files:
            target = app_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / relative, target)
    bin_dir.mkdir(parents=True, exist_ok=True)
    # A gRPC server alone in a container must listen on the pod's address, not loopback.
    defaults = {f"{main.env_prefix}_GRPC_HOST": "0.0.0.0"} if main.is_grpc else {}
    _script(bin_dir / "omnistock-start", main.container_command, main.description, defaults)
    _script(bin_dir / "omnistock-healthcheck", main.container_probe(), f"healthcheck of {main.name}")


def _script(path: Path, argv: Iterable[str], why: str, defaults: Mapping[str, str] | None = None) -> None:
    lines = ["#!/bin/sh", f"# {why.splitlines()[0] if why else path.name} (generated from the registry)"]
    lines += [f'export {name}="${{{name}:-{value}}}"' for name, value in (defaults or {}).items()]
    lines.append(f'exec {shlex.join(argv)} "$@"')
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o755)


def check_imports(reg: Registry, image: str) -> list[str]:
    """Modules of this image's deployables that do not import (gunicorn apps: found, not run,
    because building the WSGI app reads its settings)."""
    import importlib
    import importlib.util

    failures = []
    for d in reg.image_deployables(image):
        try:
            if d.kind == "gateway":
                if importlib.util.find_spec(d.module) is None:
                    failures.append(f"{d.name}: {d.module} not found")
            else:
                importlib.import_module(d.module)
        except Exception as exc:  # any import error is a broken image; name it
            failures.append(f"{d.name}: import {d.module}: {exc!r}")
    return failures
