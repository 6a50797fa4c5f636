"""The service template, checked on the inventory package: modules small enough to read, pure
domain, and generated code only at the gRPC edge (docs/development.md, issue 11)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "inventory"
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)
MAX_LINES = 600
# The gRPC edge: the only modules that may import generated code (omnistock.*) or grpc.
EDGE = {"mapping.py", "servicer.py", "server.py"}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def is_generated_or_grpc(module: str) -> bool:
    top = module.split(".")[0]
    return top in {"grpc", "grpc_health"} or module.startswith(("omnistock.", "google.protobuf"))


def relative(path: Path) -> str:
    return str(path.relative_to(PACKAGE))


def test_the_package_was_found() -> None:
    assert PACKAGE.joinpath("domain", "__init__.py").exists() and len(MODULES) > 20


@pytest.mark.parametrize("path", MODULES, ids=relative)
def test_no_module_is_longer_than_600_lines(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= MAX_LINES


@pytest.mark.parametrize("path", MODULES, ids=relative)
def test_generated_code_and_grpc_are_imported_only_at_the_edge(path: Path) -> None:
    if path.parent == PACKAGE and path.name in EDGE:
        return
    offending = sorted(m for m in imported_modules(path) if is_generated_or_grpc(m))
    assert not offending, f"{relative(path)} imports {offending}"


def test_the_checks_see_imports_that_break_the_rule(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import grpc\nfrom omnistock.inventory.v1 import inventory_service_pb2 as pb\n")
    assert {m for m in imported_modules(sample) if is_generated_or_grpc(m)} == {
        "grpc",
        "omnistock.inventory.v1",
    }
    assert not is_generated_or_grpc("omnistock_common.errors")
