"""Idempotent merchant requests: claim, finish, forget.

A request is claimed in the transaction that validates it against the locked order (so a refused
request leaves nothing behind), then its inventory calls run (idempotent by keys derived from the
claim), then its result is recorded and the claim finished with the first answer. A repeat with
the same key and body returns that answer; one that finds the claim unfinished (the first runner
died, or is still running) takes the same idempotent steps again. Requests without a key get a
generated one, so the worker can still finish them after a crash.

At most one unfinished request per order at a time: merchant changes of one order never
interleave their inventory calls (a second one gets ABORTED, retry).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from omnistock_common.context import CallContext
from omnistock_common.errors import Aborted, NotFound
from orders import domain
from orders.domain import Operation, Order
from orders.repository import Repository, UnitOfWork

# An unfinished request younger than this blocks other requests on its order; an older one is
# considered interrupted and is finished by the worker.
BUSY_WINDOW = timedelta(seconds=60)


def start_operation(
    uow: UnitOfWork,
    ctx: CallContext,
    scope: str,
    key: str,
    command: Any,
    order_id: str,
    payload: dict[str, Any],
    check: Callable[[Order], object],
    now: datetime,
) -> Operation:
    """Claim (scope, key) for `command` on an existing order after `check(order)` accepted it;
    returns the new claim, or the earlier one of the same key (done or not)."""
    request_hash = domain.fingerprint(command)
    tenant = ctx.tenant_id

    def work(repo: Repository) -> Operation:
        order = repo.load_order(tenant, order_id, lock=True) if order_id else None
        if order is None:
            raise NotFound(f"order {order_id} not found")
        claim = Operation(scope, key, request_hash, order_id, payload, done=False)
        earlier = repo.claim_operation(tenant, claim, now)
        if earlier is not None:
            domain.require_same_request(earlier, request_hash)
            return earlier
        if repo.busy_operation(tenant, order_id, key, now - BUSY_WINDOW) is not None:
            raise Aborted(
                "another change of this order is in progress; retry", reason="ORDER_BUSY", retry_after=1.0
            )
        check(order)
        return claim

    return uow.run(work)


def claim_new(uow: UnitOfWork, ctx: CallContext, claim: Operation, now: datetime) -> Operation | None:
    """Claim an operation that creates its order: None when claimed now, else the earlier one."""

    def work(repo: Repository) -> Operation | None:
        earlier = repo.claim_operation(ctx.tenant_id, claim, now)
        if earlier is not None:
            domain.require_same_request(earlier, claim.request_hash)
        return earlier

    return uow.run(work)


def finish(
    repo: Repository, tenant: str, operation: Operation, response: dict[str, Any], now: datetime
) -> None:
    repo.finish_operation(tenant, operation.scope, operation.key, response, now)


def stored_answer(repo: Repository, tenant: str, operation: Operation) -> dict[str, Any] | None:
    """The first answer if another runner finished the operation meanwhile (read under lock)."""
    current = repo.operation(tenant, operation.scope, operation.key, lock=True)
    return current.response if current is not None and current.done else None


def forget(uow: UnitOfWork, ctx: CallContext, operation: Operation) -> None:
    """Inventory refused the request: drop the claim (nothing changed; a retry starts over)."""
    uow.run(lambda repo: repo.drop_operation(ctx.tenant_id, operation.scope, operation.key))
