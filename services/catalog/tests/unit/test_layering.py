"""The catalog's template boundaries: generated protobuf code stays at the edge.

Only the gRPC edge imports generated code: mapping.py (proto <-> domain), servicer.py, server.py
(the composition root) and inventory_client.py (the outbound gRPC adapter of the stock port).
Domain, fields, service, upsert, CSV, repository, models and config never do.
"""

from __future__ import annotations

import ast
from pathlib import Path

import catalog

PACKAGE = Path(catalog.__file__).parent
EDGE = {"mapping", "servicer", "server", "inventory_client"}


def generated_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [n for n in names if n == "grpc" or n.startswith(("omnistock.", "google.protobuf", "grpc."))]
    return found


def test_only_the_edge_imports_generated_code() -> None:
    modules = {path.stem: path for path in PACKAGE.glob("*.py") if path.stem != "__init__"}
    assert set(modules) >= EDGE
    offenders = {name: generated_imports(path) for name, path in modules.items() if name not in EDGE}
    assert {name: found for name, found in offenders.items() if found} == {}
    assert generated_imports(modules["mapping"]), "mapping.py is where proto conversion lives"
