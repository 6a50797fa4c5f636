"""The service template's layout checks (docs/development.md), written once for every service
package that follows it: each package's tests/unit/test_layout.py names its edge modules and
calls `template_checks`, which returns the test functions pytest collects from that module."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

MAX_LINES = 600
TEMPLATE_ROLES = (
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
)
TRANSPORT = ("grpc", "google.protobuf", "omnistock.", "eventlet", "nameko")


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def offending(path: Path, prefixes: tuple[str, ...]) -> list[str]:
    return sorted(
        m for m in imported_modules(path) if m.startswith(prefixes) or m in {p.rstrip(".") for p in prefixes}
    )


def template_checks(package: Path, *, adapters: Iterable[str]) -> dict[str, Callable[..., Any]]:
    """The checks of one package. `adapters`: its outbound gRPC adapter modules (file names), which
    with mapping, servicer and server are the only ones that may import generated code or grpc."""
    name = package.name
    adapter_names = tuple(adapters)
    edge = {"mapping.py", "servicer.py", "server.py", *adapter_names}
    not_in_domain = (*TRANSPORT, "sqlalchemy", f"{name}.repository", f"{name}.service")
    not_in_service = (
        *TRANSPORT,
        f"{name}.mapping",
        *(f"{name}.{a.removesuffix('.py')}" for a in adapter_names),
    )
    modules = sorted(p for p in package.rglob("*.py") if "migrations" not in p.parts)

    def relative(path: Path) -> str:
        return str(path.relative_to(package))

    def test_the_package_has_the_template_roles() -> None:
        for role in TEMPLATE_ROLES:
            assert (package / role).exists(), role

    @pytest.mark.parametrize("path", modules, ids=relative)
    def test_no_module_is_longer_than_600_lines(path: Path) -> None:
        assert len(path.read_text().splitlines()) <= MAX_LINES

    @pytest.mark.parametrize("path", modules, ids=relative)
    def test_generated_code_and_grpc_only_at_the_edge(path: Path) -> None:
        if path.parent == package and path.name in edge:
            return
        assert not offending(path, ("grpc", "google.protobuf", "omnistock.")), relative(path)

    @pytest.mark.parametrize("path", sorted((package / "domain").glob("*.py")), ids=relative)
    def test_the_domain_is_pure(path: Path) -> None:
        assert not offending(path, not_in_domain)

    @pytest.mark.parametrize("path", sorted((package / "service").glob("*.py")), ids=relative)
    def test_use_cases_know_no_transport(path: Path) -> None:
        assert not offending(path, not_in_service)

    def test_the_checks_see_imports_that_break_the_rule(tmp_path: Path) -> None:
        sample = tmp_path / "sample.py"
        sample.write_text(
            "import grpc\nfrom omnistock.orders.v1 import orders_service_pb2 as pb\nimport sqlalchemy\n"
        )
        assert offending(sample, not_in_domain) == ["grpc", "omnistock.orders.v1", "sqlalchemy"]

    return {
        test.__name__: test
        for test in (
            test_the_package_has_the_template_roles,
            test_no_module_is_longer_than_600_lines,
            test_generated_code_and_grpc_only_at_the_edge,
            test_the_domain_is_pure,
            test_use_cases_know_no_transport,
            test_the_checks_see_imports_that_break_the_rule,
        )
    }
