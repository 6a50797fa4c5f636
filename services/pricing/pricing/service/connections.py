"""How a connection prices (currency, rounding, floor) and when its prices are re-pushed."""

from __future__ import annotations

from dataclasses import replace

from omnistock_common.context import CallContext
from omnistock_common.errors import FieldViolation
from omnistock_common.money import is_supported_currency
from pricing.domain.model import ConnectionSettings
from pricing.domain.rounding import check_rounding, parse_rounding
from pricing.domain.schedule import next_run, parse_cron, parse_timezone
from pricing.domain.validation import key_problems, raise_if
from pricing.repository import Repository
from pricing.service.ports import PricingDeps


def _check(settings: ConnectionSettings, field_prefix: str = "pricing") -> ConnectionSettings:
    problems = [v for v in key_problems("-", settings.connection_id) if v.field == "connection_id"]
    if settings.currency and not is_supported_currency(settings.currency):
        problems.append(FieldViolation(f"{field_prefix}.currency", "a supported ISO 4217 currency"))
    raise_if(problems)
    rounding = parse_rounding(settings.rounding, f"{field_prefix}.rounding")
    if settings.currency:
        check_rounding(rounding, settings.currency, f"{field_prefix}.rounding")
    if settings.floor_minor is not None and (settings.floor_minor < 0 or not settings.currency):
        raise_if([FieldViolation(f"{field_prefix}.floor", "not negative, and only with a currency")])
    parse_cron(settings.schedule_cron, f"{field_prefix}.schedule_cron")
    parse_timezone(settings.schedule_timezone, f"{field_prefix}.schedule_timezone")
    return replace(settings, rounding=rounding.value)


def _planned(settings: ConnectionSettings, deps: PricingDeps) -> ConnectionSettings:
    cron = parse_cron(settings.schedule_cron)
    zone = parse_timezone(settings.schedule_timezone)
    return replace(settings, next_push_at=next_run(cron, zone, deps.clock()))


def set_connection_pricing(
    deps: PricingDeps, ctx: CallContext, settings: ConnectionSettings
) -> ConnectionSettings:
    """Replace the connection's pricing; empty schedule fields keep the current (or default) ones."""

    def work(repo: Repository) -> ConnectionSettings:
        current = repo.connection(ctx.tenant_id, settings.connection_id) or ConnectionSettings(
            settings.connection_id
        )
        merged = replace(
            settings,
            schedule_cron=settings.schedule_cron or current.schedule_cron,
            schedule_timezone=settings.schedule_timezone or current.schedule_timezone,
        )
        checked = _planned(_check(merged), deps)
        repo.save_connection(ctx.tenant_id, checked, deps.clock())
        return checked

    return deps.uow.run(work)


def set_price_schedule(
    deps: PricingDeps, ctx: CallContext, connection_id: str, cron: str, timezone: str
) -> ConnectionSettings:
    """Only the schedule (PUT /channels/{id}/price-schedule); the pricing itself is kept."""

    def work(repo: Repository) -> ConnectionSettings:
        current = repo.connection(ctx.tenant_id, connection_id) or ConnectionSettings(connection_id)
        parse_cron(cron.strip(), "cron")
        parse_timezone(timezone.strip(), "timezone")
        checked = _planned(
            _check(
                replace(current, schedule_cron=cron.strip(), schedule_timezone=timezone.strip()), "schedule"
            ),
            deps,
        )
        repo.save_connection(ctx.tenant_id, checked, deps.clock())
        return checked

    return deps.uow.run(work)


def get_connection_pricing(deps: PricingDeps, ctx: CallContext, connection_id: str) -> ConnectionSettings:
    found = deps.uow.run(lambda repo: repo.connection(ctx.tenant_id, connection_id))
    return found or ConnectionSettings(connection_id)
