"""The service template, checked on the pricing package: modules small enough to read, a pure
domain, and generated code only at the gRPC edge (docs/development.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "pricing"
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)
MAX_LINES = 600
# The gRPC edge: mapping, servicer, server and the outbound adapters of the catalog and listings ports (as in
# catalog) are the only modules that may import generated code or grpc.
EDGE = {"mapping.py", "servicer.py", "server.py", "clients.py"}
# What the pure layers may not import at all.
NOT_IN_DOMAIN = (
    "grpc",
    "google.protobuf",
    "omnistock.",
    "sqlalchemy",
    "pricing.repository",
    "pricing.service",
    "eventlet",
    "nameko",
)
NOT_IN_SERVICE = (
    "grpc",
    "google.protobuf",
    "omnistock.",
    "eventlet",
    "nameko",
    "pricing.mapping",
    "pricing.clients",
)


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def relative(path: Path) -> str:
    return str(path.relative_to(PACKAGE))


def offending(path: Path, prefixes: tuple[str, ...]) -> list[str]:
    return sorted(
        m for m in imported_modules(path) if m.startswith(prefixes) or m in {p.rstrip(".") for p in prefixes}
    )


def test_the_package_has_the_template_roles() -> None:
    for role in (
        "config.py",
        "domain/__init__.py",
        "models.py",
        "repository/__init__.py",
        "service/__init__.py",
        "mapping.py",
        "servicer.py",
        "server.py",
        "worker.py",
        "migrations/env.py",
    ):
        assert (PACKAGE / role).exists(), role


@pytest.mark.parametrize("path", MODULES, ids=relative)
def test_no_module_is_longer_than_600_lines(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= MAX_LINES


@pytest.mark.parametrize("path", MODULES, ids=relative)
def test_generated_code_and_grpc_only_at_the_edge(path: Path) -> None:
    if path.parent == PACKAGE and path.name in EDGE:
        return
    assert not offending(path, ("grpc", "google.protobuf", "omnistock.")), relative(path)


@pytest.mark.parametrize("path", sorted((PACKAGE / "domain").glob("*.py")), ids=relative)
def test_the_domain_is_pure(path: Path) -> None:
    assert not offending(path, NOT_IN_DOMAIN)


@pytest.mark.parametrize("path", sorted((PACKAGE / "service").glob("*.py")), ids=relative)
def test_use_cases_know_no_transport(path: Path) -> None:
    assert not offending(path, NOT_IN_SERVICE)


def test_the_checks_see_imports_that_break_the_rule(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import grpc\nfrom omnistock.orders.v1 import orders_service_pb2 as pb\nimport sqlalchemy\n"
    )
    assert offending(sample, NOT_IN_DOMAIN) == ["grpc", "omnistock.orders.v1", "sqlalchemy"]
