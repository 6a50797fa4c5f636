"""The channels service's template boundaries: generated protobuf code stays at the edge.

Only the gRPC edge imports generated code: mapping.py (proto <-> domain for connector calls),
servicer.py, server.py (the composition root), publish_mapping.py (publishing's half of mapping) and the outbound
gRPC adapters connector_clients.py, publish_clients.py,
catalog_client.py, import_clients.py and sync/inventory_source.py. Use cases (connection setup, listing mapping,
webhook intake, connector calls, the sync jobs), domain, repositories and config never do.
"""

from __future__ import annotations

import ast
from pathlib import Path

import channels

PACKAGE = Path(channels.__file__).parent
EDGE = {
    "mapping",
    "servicer",
    "server",
    "connector_clients",
    "catalog_client",
    "import_clients",
    "sync.inventory_source",
    "publish_mapping",
    "publish_clients",
}


def generated_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [n for n in names if n.startswith(("omnistock.", "google.protobuf"))]
    return found


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        if path.stem == "__init__" or "migrations" in path.relative_to(PACKAGE).parts:
            continue
        found[".".join(path.relative_to(PACKAGE).with_suffix("").parts)] = path
    return found


def test_only_the_edge_imports_generated_code() -> None:
    found = modules()
    assert set(found) >= EDGE
    assert {"connection_setup", "webhook_intake", "sync.flusher", "sync.in_flight"} <= set(found)
    offenders = {name: generated_imports(path) for name, path in found.items() if name not in EDGE}
    assert {name: names for name, names in offenders.items() if names} == {}
    assert generated_imports(found["mapping"]), "mapping.py is where proto conversion lives"
