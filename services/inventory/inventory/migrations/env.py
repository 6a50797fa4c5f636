"""Alembic environment of the inventory database (shared body in omnistock_common.migrations)."""

from inventory import models
from omnistock_common.migrations import run_env

run_env(models.metadata)
