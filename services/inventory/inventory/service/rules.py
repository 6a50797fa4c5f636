"""Low-stock thresholds and alerts, per-channel allocation rules and bundles: the settings that
change no stock but change what every event says."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from inventory import domain
from inventory.domain import Alert, AlertKind, AlertStatus, AllocationRule, BundleComponent, Policy
from inventory.repository import Repository, UnitOfWork
from inventory.service.locations import now_or_utc
from inventory.service.publishing import publish
from omnistock_common import paging
from omnistock_common.context import CallContext
from omnistock_common.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound

# --------------------------------------------------------------------------- thresholds and alerts


def set_low_stock_threshold(
    uow: UnitOfWork, ctx: CallContext, sku: str, threshold: int, policy: Policy, now: datetime | None = None
) -> int:
    """Set a SKU's own threshold; opens/closes its alert if the new threshold crosses available."""
    if not sku:
        raise InvalidArgument("sku is required", violations=[FieldViolation("sku", "required")])
    domain.validate_threshold(threshold)
    now = now_or_utc(now)
    uow.run(
        lambda repo: publish(
            repo,
            ctx.tenant_id,
            policy,
            now,
            {},
            extra_skus=[sku],
            new_thresholds={sku: threshold},
            emit=False,
        )
    )
    return threshold


def set_default_low_stock_threshold(
    uow: UnitOfWork, ctx: CallContext, threshold: int, policy: Policy, now: datetime | None = None
) -> int:
    """Change the tenant default and re-evaluate alerts of every SKU that relies on it."""
    domain.validate_threshold(threshold)
    now = now_or_utc(now)

    def work(repo: Repository) -> None:
        previous = repo.default_threshold(ctx.tenant_id, policy.default_low_stock_threshold)
        repo.set_default_threshold(ctx.tenant_id, threshold, now)
        publish(
            repo,
            ctx.tenant_id,
            policy,
            now,
            {},
            extra_skus=repo.all_skus(ctx.tenant_id),
            previous_default=previous,
            emit=False,
        )

    uow.run(work)
    return threshold


def default_low_stock_threshold(uow: UnitOfWork, ctx: CallContext, policy: Policy) -> int:
    with uow.transaction() as repo:
        return repo.default_threshold(ctx.tenant_id, policy.default_low_stock_threshold)


def list_alerts(
    uow: UnitOfWork, ctx: CallContext, status: AlertStatus | None, *, limit: int = 0, cursor: str = ""
) -> tuple[list[Alert], str]:
    size = paging.page_limit(limit)
    after = paging.read_cursor(cursor, datetime, str)
    with uow.transaction() as repo:
        items = repo.list_alerts(ctx.tenant_id, status, (after[0], after[1]) if after else None, size)
    next_cursor = (
        paging.encode_cursor([items[-1].opened_at.isoformat(), items[-1].id]) if len(items) == size else ""
    )
    return items, next_cursor


# Namespace of oversold alert ids: one alert per (tenant, order, SKU), however often it is reported.
_OVERSOLD_ALERTS = uuid.UUID("0b7f3c1e-93a4-4c55-8d0e-5f0c4b7e2a61")


def open_oversold_alerts(
    uow: UnitOfWork,
    tenant_id: str,
    reference: str,
    short_lines: Sequence[tuple[str, int]],
    now: datetime | None = None,
) -> int:
    """Open one OVERSOLD alert per (SKU, units short) of the order `reference` (orders reports
    them in `orders.order_oversold`); a repeat opens nothing. Returns how many were opened."""
    opened_at = now_or_utc(now)
    alerts = [
        Alert(
            id=str(uuid.uuid5(_OVERSOLD_ALERTS, f"{tenant_id}\n{reference}\n{sku}")),
            sku=sku,
            status=AlertStatus.OPEN,
            threshold=0,
            available_at_open=0,
            opened_at=opened_at,
            closed_at=None,
            kind=AlertKind.OVERSOLD,
            reference=reference,
            quantity_short=short,
        )
        for sku, short in short_lines
        if short > 0
    ]

    def work(repo: Repository) -> int:
        return sum(repo.add_alert_if_absent(tenant_id, alert) for alert in alerts)

    return uow.run(work)


def close_alert(uow: UnitOfWork, ctx: CallContext, alert_id: str, now: datetime | None = None) -> Alert:
    """Close an OVERSOLD alert the merchant dealt with (closing a closed one changes nothing).
    Low-stock alerts follow the stock and cannot be closed by hand."""
    closed_at = now_or_utc(now)

    def work(repo: Repository) -> Alert:
        alert = repo.alert(ctx.tenant_id, alert_id, lock=True)
        if alert is None:
            raise NotFound(f"alert {alert_id} not found")
        if alert.kind is not AlertKind.OVERSOLD:
            raise FailedPrecondition(
                "a low-stock alert closes by itself once available is back at or above the threshold"
            )
        if alert.status is AlertStatus.OPEN:
            repo.close_alert(ctx.tenant_id, alert_id, closed_at)
        return repo.alert(ctx.tenant_id, alert_id) or alert

    return uow.run(work)


# --------------------------------------------------------------------------- allocation rules


def get_allocation_rule(uow: UnitOfWork, ctx: CallContext, connection_id: str) -> AllocationRule:
    with uow.transaction() as repo:
        for rule in repo.rules(ctx.tenant_id):
            if rule.connection_id == connection_id:
                return rule
    raise NotFound(f"no allocation rule for connection {connection_id}")


def republish_all(repo: Repository, tenant_id: str, policy: Policy, now: datetime) -> None:
    """A rule change moves ATS of every SKU on that connection: send them all (new versions)."""
    skus = repo.all_skus(tenant_id)
    if skus:
        publish(repo, tenant_id, policy, now, {}, extra_skus=skus)


def put_allocation_rule(
    uow: UnitOfWork, ctx: CallContext, rule: AllocationRule, policy: Policy, now: datetime | None = None
) -> AllocationRule:
    domain.validate_allocation_rule(rule)
    now = now_or_utc(now)

    def work(repo: Repository) -> AllocationRule:
        repo.put_rule(ctx.tenant_id, rule, now)
        if rule.measured_sync_latency_ms > 0:
            repo.record_latency(ctx.tenant_id, rule.connection_id, rule.measured_sync_latency_ms, now)
        republish_all(repo, ctx.tenant_id, policy, now)
        return next(r for r in repo.rules(ctx.tenant_id) if r.connection_id == rule.connection_id)

    return uow.run(work)


def delete_allocation_rule(
    uow: UnitOfWork, ctx: CallContext, connection_id: str, policy: Policy, now: datetime | None = None
) -> None:
    now = now_or_utc(now)

    def work(repo: Repository) -> None:
        if not repo.delete_rule(ctx.tenant_id, connection_id):
            raise NotFound(f"no allocation rule for connection {connection_id}")
        republish_all(repo, ctx.tenant_id, policy, now)

    uow.run(work)


def record_sync_latency(
    uow: UnitOfWork, ctx: CallContext, connection_id: str, latency_ms: int, now: datetime | None = None
) -> None:
    """Remember the channel's measured push latency (feeds the dynamic buffer).

    No event is sent: latency is reported after every push, and the new figure shows up in
    the next stock_changed of each SKU.
    """
    if not connection_id:
        raise InvalidArgument(
            "connection_id is required", violations=[FieldViolation("connection_id", "required")]
        )
    if not 0 <= latency_ms <= 86_400_000:
        raise InvalidArgument("invalid latency", violations=[FieldViolation("latency_ms", "0..86400000")])
    now = now_or_utc(now)
    uow.run(lambda repo: repo.record_latency(ctx.tenant_id, connection_id, latency_ms, now))


# --------------------------------------------------------------------------- bundles


def put_bundle(
    uow: UnitOfWork,
    ctx: CallContext,
    sku: str,
    components: Sequence[BundleComponent],
    policy: Policy,
    now: datetime | None = None,
) -> list[BundleComponent]:
    """Define (or redefine) a bundle; its availability is derived from the components."""
    now = now_or_utc(now)
    domain.validate_bundle(sku, components, (), False)

    def work(repo: Repository) -> list[BundleComponent]:
        nested = repo.bundles(ctx.tenant_id, [c.sku for c in components])
        is_component = bool(repo.bundles_containing(ctx.tenant_id, [sku]))
        domain.validate_bundle(sku, components, nested.keys(), is_component)
        if repo.has_stock_rows(ctx.tenant_id, sku):
            raise FailedPrecondition(
                f"{sku} has its own stock; zero it before making it a bundle", reason="HAS_STOCK"
            )
        ordered = sorted(components, key=lambda c: c.sku)
        repo.replace_bundle(ctx.tenant_id, sku, ordered)
        publish(repo, ctx.tenant_id, policy, now, {}, extra_skus=[sku])
        return ordered

    return uow.run(work)


def get_bundle(uow: UnitOfWork, ctx: CallContext, sku: str) -> list[BundleComponent]:
    with uow.transaction() as repo:
        components = repo.bundles(ctx.tenant_id, [sku]).get(sku)
    if not components:
        raise NotFound(f"bundle {sku} not found")
    return components


def delete_bundle(
    uow: UnitOfWork, ctx: CallContext, sku: str, policy: Policy, now: datetime | None = None
) -> None:
    now = now_or_utc(now)

    def work(repo: Repository) -> None:
        if not repo.delete_bundle(ctx.tenant_id, sku):
            raise NotFound(f"bundle {sku} not found")
        publish(repo, ctx.tenant_id, policy, now, {}, extra_skus=[sku])

    uow.run(work)
