"""Alembic environment of the catalog database."""

from catalog import models
from omnistock_common.migrations import run_env

run_env(models.metadata)
