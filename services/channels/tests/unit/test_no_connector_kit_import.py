"""The channels service is not a connector: it must not depend on omnistock_connector_kit.

Issue 11 ("libraries by audience"): what the channels service shares with the connectors (the
egress guard, the guarded transport) lives in omnistock_common. This scans every module of the
package, including imports inside functions and `if TYPE_CHECKING:` blocks.
"""

from __future__ import annotations

import ast
from pathlib import Path

import channels

FORBIDDEN = "omnistock_connector_kit"


def imported_modules(tree: ast.AST) -> list[str]:
    """Every module an `import`/`from ... import` statement in `tree` names (absolute ones)."""
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def offenders(package_dir: Path) -> list[str]:
    found = []
    for path in sorted(package_dir.rglob("*.py")):
        for name in imported_modules(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if name == FORBIDDEN or name.startswith(FORBIDDEN + "."):
                found.append(f"{path.relative_to(package_dir.parent)}: {name}")
    return found


def test_channels_package_does_not_import_the_connector_kit() -> None:
    package_dir = Path(channels.__file__).parent
    assert list(package_dir.rglob("*.py")), "the scan found no modules"
    assert offenders(package_dir) == []


def test_the_scan_sees_nested_and_from_imports(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "a.py").write_text("def f():\n    import omnistock_connector_kit.egress\n")
    (package / "sub" / "b.py").write_text("from omnistock_connector_kit.channel_http import X\n")
    (package / "c.py").write_text("import omnistock_connector_kitten\nfrom . import a\n")
    assert offenders(package) == [
        "pkg/a.py: omnistock_connector_kit.egress",
        "pkg/sub/b.py: omnistock_connector_kit.channel_http",
    ]
