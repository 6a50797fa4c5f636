"""Alembic environment of the channels database (shared body in omnistock_common.migrations)."""

from channels import models
from omnistock_common.migrations import run_env

run_env(models.metadata)
