"""Alembic environment of the gateway database (tenants, users, refresh tokens)."""

from gateway import models
from omnistock_common.migrations import run_env

run_env(models.metadata)
