"""The committed OpenAPI snapshot (web/openapi.json) that the dashboard's typed client is
generated from (`npm run gen:api`).

The snapshot is built from the same routes as GET /api/v1/openapi.json, without any I/O (no
database, Redis or backend), so `python -m gateway.openapi_snapshot` runs on a fresh clone and a
test fails while the committed file differs: a contract change then breaks the web build's type
check instead of a page at run time.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from gateway.app import create_app
from gateway.config import Settings
from gateway.deps import Deps
from gateway.errors import ErrorMapper
from gateway.routes.docs import build_document_for
from omnistock_common.config import project_root

SNAPSHOT_PATH = project_root() / "web" / "openapi.json"


def document() -> dict[str, Any]:
    """The gateway's OpenAPI document, built from an app whose backends are never called."""
    deps = Deps(
        settings=Settings(),
        identity=None,  # type: ignore[arg-type]
        catalog=None,  # type: ignore[arg-type]
        readiness=None,  # type: ignore[arg-type]
        errors=ErrorMapper(),
    )
    return build_document_for(create_app(deps=deps))


def render(doc: dict[str, Any]) -> str:
    """Stable text: key order as generated, two-space indent, final newline (diff-friendly)."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the snapshot (default web/openapi.json, or the path given)."""
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else SNAPSHOT_PATH
    target.write_text(render(document()), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
