"""The worker's recovery of merchant requests interrupted after their claim (a crash, a lost
connection): each is driven again through the same idempotent steps and finished."""

from __future__ import annotations

import logging
from datetime import datetime

from omnistock_common.context import CallContext
from omnistock_common.errors import DomainError
from orders import domain
from orders.domain import Policy
from orders.repository import UnitOfWork
from orders.service import merchant
from orders.service.operations import BUSY_WINDOW
from orders.service.ports import StockPort
from orders.service.stock_steps import now_or_utc

log = logging.getLogger(__name__)


def resume_stale_operations(
    uow: UnitOfWork, stock: StockPort, policy: Policy, now: datetime | None = None, limit: int = 50
) -> int:
    """Finish unfinished requests untouched for BUSY_WINDOW; returns how many were looked at."""
    now = now_or_utc(now)
    with uow.transaction() as repo:
        stale = repo.stale_operations(now - BUSY_WINDOW, limit)
    for tenant, scope, key in stale:
        ctx = CallContext(tenant_id=tenant)
        with uow.transaction() as repo:
            operation = repo.operation(tenant, scope, key)
        if operation is None or operation.done:
            continue
        uow.run(lambda repo, t=tenant, s=scope, k=key: repo.touch_operation(t, s, k, now))
        command = operation.payload.get("command", {})
        try:
            if scope == merchant.CREATE:
                merchant.finish_create(uow, stock, ctx, operation, policy, now)
            elif scope == merchant.FULFILL:
                cmd = domain.fulfill_command_from(command)
                merchant.drive_fulfillment(uow, stock, ctx, operation, cmd, now)
            elif scope == merchant.CANCEL:
                merchant.drive_cancel(uow, stock, ctx, operation, domain.cancel_command_from(command), now)
            elif scope == merchant.RETURN:
                merchant.drive_return(uow, stock, ctx, operation, domain.return_command_from(command), now)
        except DomainError as exc:
            log.warning("resuming %s %s of tenant %s: %s", scope, key, tenant, exc.message)
        except Exception:  # the next tick tries again
            log.exception("resuming %s %s of tenant %s failed", scope, key, tenant)
    return len(stale)
