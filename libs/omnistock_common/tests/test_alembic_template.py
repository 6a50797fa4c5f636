"""One Alembic revision template for every service: each service's migrations/script.py.mako is
a link to omnistock_common/alembic_script.py.mako, and a revision made with it is typed Python
that follows the service's head."""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

import omnistock_common

TEMPLATE = Path(omnistock_common.__file__).resolve().parent / "alembic_script.py.mako"
SERVICES = ("catalog", "channels", "gateway", "inventory")


def _migrations(service: str) -> Path:
    return Path(importlib.import_module(service).__file__).resolve().parent / "migrations"  # type: ignore[arg-type]


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_uses_the_shared_template(service: str) -> None:
    assert (_migrations(service) / "script.py.mako").resolve() == TEMPLATE


@pytest.mark.parametrize("service", SERVICES)
def test_a_new_revision_follows_the_head_and_compiles(service: str, tmp_path: Path) -> None:
    script_dir = tmp_path / "migrations"
    shutil.copytree(_migrations(service), script_dir, ignore=shutil.ignore_patterns("__pycache__"))
    config = Config()
    config.set_main_option("script_location", str(script_dir))
    head = ScriptDirectory.from_config(config).get_current_head()
    command.revision(config, message="add a thing", rev_id="9999")
    (written,) = (script_dir / "versions").glob("9999_*.py")
    text = written.read_text()
    compile(text, str(written), "exec")
    assert text.startswith('"""add a thing\n\nRevision ID: 9999\n')
    assert f"down_revision: str | None = {head!r}" in text
    assert "##" not in text  # the template's own comments stay out of the revision
