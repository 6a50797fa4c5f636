"""Alembic environment of the orders database (shared body in omnistock_common.migrations)."""

from omnistock_common.migrations import run_env
from orders import models

run_env(models.metadata)
