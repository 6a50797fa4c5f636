"""Alembic environment of the pricing database (shared body in omnistock_common.migrations)."""

from omnistock_common.migrations import run_env
from pricing import models

run_env(models.metadata)
