"""Price-sync schedules: a five-field cron expression in an IANA time zone.

Fields: minute hour day-of-month month day-of-week (0-6, Sunday 0; 7 is Sunday too), each `*`, a
number, a range `a-b`, a list `a,b`, or a step `*/n` / `a-b/n`. When both day fields are
restricted, a day matches either (cron's rule). `next_run` walks days, then hours, then minutes,
so a yearly schedule costs a few hundred steps, not half a million. Times are local to the zone
and converted to UTC; a local time skipped by a DST change is skipped, a repeated one runs once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from omnistock_common.errors import FieldViolation, InvalidArgument

DEFAULT_CRON = "0 0 * * *"
DEFAULT_TIMEZONE = "UTC"
_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_NAMES = ("minute", "hour", "day of month", "month", "day of week")
# No schedule waits longer than this for its next run (Feb 29 on a Monday: at most ~28 years).
_HORIZON_DAYS = 366 * 29


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Monday (Python's), converted from cron's 0 = Sunday
    any_day: bool
    any_weekday: bool

    def day_matches(self, day: datetime) -> bool:
        if day.month not in self.months:
            return False
        by_date = day.day in self.days
        by_weekday = day.weekday() in self.weekdays
        if self.any_day and self.any_weekday:
            return True
        if self.any_day:
            return by_weekday
        if self.any_weekday:
            return by_date
        return by_date or by_weekday


def _field(text: str, index: int) -> frozenset[int]:
    low, high = _BOUNDS[index]
    values: set[int] = set()
    for part in text.split(","):
        spec, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if spec == "*":
            start, end = low, high
        elif "-" in spec:
            start_text, _, end_text = spec.partition("-")
            start, end = int(start_text), int(end_text)
        else:
            start = end = int(spec)
            if step_text:
                end = high
        if not (low <= start <= end <= high) or step < 1:
            raise ValueError(f"{part!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def parse_cron(expression: str, field_name: str = "cron") -> Cron:
    parts = expression.split()
    if len(parts) != 5:
        raise InvalidArgument(
            f"{expression!r} is not a five-field cron expression",
            violations=[
                FieldViolation(field_name, 'five fields: minute hour day month weekday, e.g. "0 0 * * *"')
            ],
        )
    try:
        fields = [_field(text, i) for i, text in enumerate(parts)]
    except ValueError as error:
        raise InvalidArgument(
            f"{expression!r} is not a valid cron expression",
            violations=[FieldViolation(field_name, str(error))],
        ) from None
    weekdays = frozenset((d - 1) % 7 for d in fields[4])  # cron 0/7 = Sunday -> Python 6
    return Cron(fields[0], fields[1], fields[2], fields[3], weekdays, parts[2] == "*", parts[4] == "*")


def parse_timezone(name: str, field_name: str = "timezone") -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidArgument(
            f"{name!r} is not an IANA time zone",
            violations=[FieldViolation(field_name, 'an IANA time zone such as "UTC" or "Europe/Berlin"')],
        ) from None


def next_run(cron: Cron, zone: ZoneInfo, after: datetime) -> datetime:
    """The first scheduled instant strictly after `after` (UTC)."""
    local = after.astimezone(zone).replace(second=0, microsecond=0, tzinfo=None) + timedelta(minutes=1)
    day = local.replace(hour=0, minute=0)
    for _ in range(_HORIZON_DAYS):
        if cron.day_matches(day):
            for hour in sorted(cron.hours):
                for minute in sorted(cron.minutes):
                    candidate = day.replace(hour=hour, minute=minute)
                    if candidate < local:
                        continue
                    moment = candidate.replace(tzinfo=zone)
                    # A local time that does not exist (DST gap) does not survive the round trip.
                    if moment.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != candidate:
                        continue
                    return moment.astimezone(UTC)
        day += timedelta(days=1)
    raise InvalidArgument("the schedule never runs", violations=[FieldViolation("cron", "never matches")])
