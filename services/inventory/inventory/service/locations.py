"""Locations: the tenant's default location (created on first need) and named ones."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy.exc import IntegrityError

from inventory import domain
from inventory.domain import Location
from inventory.repository import Repository, UnitOfWork
from omnistock_common.context import CallContext
from omnistock_common.errors import AlreadyExists

T = TypeVar("T")


def now_or_utc(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


class NoDefaultLocation(Exception):
    """Raised inside a transaction that needs the default location before it exists."""


def default_location(repo: Repository, tenant_id: str) -> Location:
    location = repo.default_location(tenant_id)
    if location is None:
        raise NoDefaultLocation
    return location


def ensure_default_location(uow: UnitOfWork, tenant_id: str, now: datetime | None = None) -> Location:
    """The tenant's default location, created as "default" on first need.

    Runs in its own short transaction; two replicas creating it at once collide on the
    one-default-per-tenant index and the loser reads the winner's row.
    """
    created_at = now_or_utc(now)

    def find_or_create(repo: Repository) -> Location:
        existing = repo.default_location(tenant_id)
        if existing is not None:
            return existing
        location = Location(str(uuid.uuid4()), domain.DEFAULT_LOCATION_CODE, "Default", True, created_at)
        repo.insert_location(tenant_id, location)
        return location

    try:
        return uow.run(find_or_create)
    except IntegrityError:
        with uow.transaction() as repo:
            return default_location(repo, tenant_id)


def run_with_default(uow: UnitOfWork, tenant_id: str, fn: Callable[[Repository], T]) -> T:
    """Run fn in a transaction; if it needed a default location that did not exist, create it
    (in a separate transaction — never while holding stock locks) and run fn again."""
    try:
        return uow.run(fn)
    except NoDefaultLocation:
        ensure_default_location(uow, tenant_id)
        return uow.run(fn)


def create_location(
    uow: UnitOfWork, ctx: CallContext, code: str, name: str, is_default: bool, now: datetime | None = None
) -> Location:
    """Add a location; is_default moves the default flag to it (still exactly one default)."""
    domain.validate_location(code, name)
    now = now_or_utc(now)
    ensure_default_location(uow, ctx.tenant_id, now)
    location = Location(str(uuid.uuid4()), code, name or code, is_default, now)

    def work(repo: Repository) -> Location:
        if repo.locations_by_code(ctx.tenant_id, [code]):
            raise AlreadyExists(f"location {code} already exists", reason="LOCATION_EXISTS")
        repo.insert_location(ctx.tenant_id, location)
        return location

    try:
        return uow.run(work)
    except IntegrityError as exc:
        raise AlreadyExists(f"location {code} already exists", reason="LOCATION_EXISTS") from exc


def list_locations(uow: UnitOfWork, ctx: CallContext) -> list[Location]:
    ensure_default_location(uow, ctx.tenant_id)
    with uow.transaction() as repo:
        return repo.list_locations(ctx.tenant_id)


def resolve_codes(repo: Repository, tenant_id: str, codes: Iterable[str]) -> dict[str, Location]:
    """code -> Location for every code ("" = the default); unknown codes are absent."""
    wanted = set(codes)
    out = repo.locations_by_code(tenant_id, wanted - {""})
    if "" in wanted:
        out[""] = default_location(repo, tenant_id)
    return out
