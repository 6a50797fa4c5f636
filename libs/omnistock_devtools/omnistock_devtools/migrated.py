"""Tests' fresh databases at a service's head schema: SQLite files are copies of a template.

Why: Alembic's batch mode rebuilds SQLite tables one by one, ~0.15 s per service and test over
hundreds of tests. Here the chain runs once per service and test session, into a template file,
and each test's fresh SQLite file is a copy of it. The migrations stay covered: the template is
built by `omnistock_common.migrations.upgrade`, and the migration tests call that directly.
PostgreSQL gets the real `upgrade` (measured: 0.06-0.15 s in a warm process, faster than
`DROP` + `CREATE DATABASE ... TEMPLATE`).

Only a missing or empty SQLite file is replaced by a copy; anything else gets the real `upgrade`,
so a test that migrates twice, or puts two services in one file, behaves as before.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

from omnistock_common.db import normalize_url
from omnistock_common.migrations import upgrade

_sqlite_templates: dict[str, Path] = {}
_template_dir: Path | None = None


def migrate(service: str, database_url: str) -> None:
    """Bring the test database at `database_url` to `service`'s head schema (see module doc)."""
    url = make_url(normalize_url(database_url))
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        _migrate_sqlite(service, database_url, Path(url.database))
    else:
        upgrade(service, database_url)


def _migrate_sqlite(service: str, database_url: str, path: Path) -> None:
    if path.exists() and path.stat().st_size > 0:
        upgrade(service, database_url)
        return
    template = _sqlite_templates.get(service)
    if template is None:
        global _template_dir
        _template_dir = _template_dir or Path(tempfile.mkdtemp(prefix="omnistock-schema-"))
        template = _template_dir / f"{service}.db"
        upgrade(service, f"sqlite:///{template}")
        _sqlite_templates[service] = template
    shutil.copyfile(template, path)


def drop_templates() -> None:
    """Remove every template this process made (end of the test session)."""
    _sqlite_templates.clear()
    if _template_dir is not None:
        shutil.rmtree(_template_dir, ignore_errors=True)


__all__ = ["drop_templates", "migrate"]
