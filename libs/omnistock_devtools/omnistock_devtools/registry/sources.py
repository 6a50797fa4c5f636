"""Hand-written files the registry cannot generate but can check: pyproject.toml's package lists
and the channels service's channel types. Each problem names the line to add and where.

Read as text (tomllib, ast), never imported: `check` also runs on a copy of the tree (--root).
"""

from __future__ import annotations

import ast
import tomllib
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from .model import ROOT, Registry

PYPROJECT = "pyproject.toml"
CHANNEL_TYPES_MODULE = "services/channels/channels/domain.py"
# Where a deployable's package folder may live (searched when no `where` entry holds it).
SOURCE_ROOTS = ("services", "libs")


def source_problems(reg: Registry, root: Path = ROOT) -> list[str]:
    return pyproject_problems(reg, root) + channel_type_problems(reg, root)


# ============================================================================== pyproject.toml
def pyproject_problems(reg: Registry, root: Path = ROOT) -> list[str]:
    """Every deployable's package must be installed (`where` + `include`) and sorted as ours by
    ruff (`known-first-party`)."""
    with (root / PYPROJECT).open("rb") as handle:
        data = tomllib.load(handle)
    find = data.get("tool", {}).get("setuptools", {}).get("packages", {}).get("find", {})
    where: list[str] = find.get("where", [])
    include: list[str] = find.get("include", [])
    first_party: list[str] = _get(data, "tool", "ruff", "lint", "isort", "known-first-party")
    out = []
    for package, runner in _packages(reg).items():
        why = f"(deployable {runner!r} runs {package})"
        if not any((root / folder / package).is_dir() for folder in where):
            holder = _holder(root, package)
            if holder:
                out.append(f'{PYPROJECT} [tool.setuptools.packages.find] where: add "{holder}" {why}')
            else:
                out.append(
                    f"{PYPROJECT}: no folder of [tool.setuptools.packages.find] where holds {package}/, "
                    f"and none under {' or '.join(SOURCE_ROOTS)}/ does {why}"
                )
        if not any(fnmatch(package, pattern) for pattern in include):
            out.append(f'{PYPROJECT} [tool.setuptools.packages.find] include: add "{package}*" {why}')
        if package not in first_party:
            out.append(f'{PYPROJECT} [tool.ruff.lint.isort] known-first-party: add "{package}" {why}')
    return out


def _get(data: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        data = data.get(key, {})
    return data or []


def _packages(reg: Registry) -> dict[str, str]:
    """Top-level package -> the first deployable that runs it, in registry order."""
    packages: dict[str, str] = {}
    for d in reg.deployables:
        packages.setdefault(d.package, d.name)
    return packages


def _holder(root: Path, package: str) -> str | None:
    """The folder (relative to root) that holds `package/__init__.py`, if there is exactly one."""
    found = {
        str(init.parent.parent.relative_to(root))
        for top in SOURCE_ROOTS
        if (root / top).is_dir()
        for init in (root / top).rglob(f"{package}/__init__.py")
        if "tests" not in init.relative_to(root).parts
    }
    return found.pop() if len(found) == 1 else None


# ============================================================================== channel types
def channel_types_in_source(root: Path = ROOT) -> dict[str, bool]:
    """Channel type -> available, from the `ChannelType("x", ..., available=...)` calls of
    channels/domain.py."""
    tree = ast.parse((root / CHANNEL_TYPES_MODULE).read_text(encoding="utf-8"))
    found: dict[str, bool] = {}
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "ChannelType"
        ):
            continue
        if (
            not node.args
            or not isinstance(node.args[0], ast.Constant)
            or not isinstance(node.args[0].value, str)
        ):
            continue
        available = next(
            (
                kw.value.value
                for kw in node.keywords
                if kw.arg == "available" and isinstance(kw.value, ast.Constant)
            ),
            False,
        )
        found[node.args[0].value] = bool(available)
    return found


def channel_type_problems(reg: Registry, root: Path = ROOT) -> list[str]:
    """A connector's channel types are available ChannelTypes in channels; an available
    ChannelType has a connector (channels refuses to connect a type it cannot reach)."""
    declared = channel_types_in_source(root)
    where = f"{CHANNEL_TYPES_MODULE} CHANNEL_TYPES"
    out = []
    for channel_type, service in reg.connector_services.items():
        speaker = next(d.name for d in reg.of_kind("connector") if d.service_key == service)
        if channel_type not in declared:
            out.append(
                f'{where}: add ChannelType("{channel_type}", "<display name>", AuthKind.OAUTH or '
                f"AuthKind.API_KEY, (<capabilities>), available=True) (deployable {speaker!r} speaks it)"
            )
        elif not declared[channel_type]:
            out.append(
                f'{where}: ChannelType("{channel_type}", ...) needs available=True (deployable {speaker!r} speaks it)'
            )
    for channel_type, available in declared.items():
        if available and channel_type not in reg.connector_services:
            out.append(
                f'{where}: ChannelType("{channel_type}") is available=True but no connector speaks it: add '
                f'channel_types = ["{channel_type}"] to its connector in deploy/deployables.toml, or set available=False'
            )
    return out
