"""Every connector keeps the connector template's boundaries (libs/omnistock_connector_kit/README.md):
generated protobuf code stays at the gRPC edge.

Only mapping.py (connector.v1 messages <-> the protocol's plain values), servicer.py and server.py
import generated code; the wire protocol (`protocol/`), the client and the settings never do. The
connectors are the registry's (deploy/deployables.toml, kind = "connector"), so a new one is
checked without touching this file.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

from omnistock_devtools.registry import Registry

EDGE = {"mapping", "servicer", "server"}
CONNECTOR_PACKAGES = sorted({d.module.split(".")[0] for d in Registry.load().of_kind("connector")})


def generated_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [n for n in names if n == "grpc" or n.startswith(("omnistock.", "google.protobuf", "grpc."))]
    return found


def package_modules(package: str) -> dict[str, Path]:
    """Dotted name inside the package -> file, for every module but tests and `__init__` files
    that only re-export (those are checked too: a protocol `__init__` is part of protocol/)."""
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.origin is not None, f"{package} is not importable"
    root = Path(spec.origin).parent
    return {".".join(path.relative_to(root).with_suffix("").parts): path for path in root.rglob("*.py")}


def test_the_registry_lists_the_connectors_we_ship() -> None:
    assert {"shopify_connector", "woocommerce_connector"} <= set(CONNECTOR_PACKAGES)


@pytest.mark.parametrize("package", CONNECTOR_PACKAGES)
def test_protocol_is_free_of_generated_code_and_mapping_is_the_edge(package: str) -> None:
    modules = package_modules(package)
    assert "protocol.__init__" in modules, f"{package}: the wire protocol lives in a protocol/ package"
    assert set(modules) >= EDGE, f"{package}: needs {', '.join(sorted(EDGE - set(modules)))}.py"
    offenders = {
        name: found
        for name, path in modules.items()
        if name not in EDGE and (found := generated_imports(path))
    }
    assert offenders == {}, f"{package}: only {', '.join(sorted(EDGE))} may import generated code"
    assert generated_imports(modules["mapping"]), f"{package}: mapping.py is where proto conversion lives"


def test_the_check_sees_a_generated_import(tmp_path: Path) -> None:
    """Guards the test above: the import forms a protocol module could use are all caught."""
    module = tmp_path / "module.py"
    module.write_text(
        "from omnistock.connector.v1 import connector_service_pb2 as pb\n"
        "import google.protobuf.timestamp_pb2\n"
        "import grpc\n"
        "from . import values\n"
    )
    assert generated_imports(module) == [
        "omnistock.connector.v1",
        "google.protobuf.timestamp_pb2",
        "grpc",
    ]
