"""An inclusive range of UTC days from a request's `from`/`to` (ISO dates), as every analytics
read model answers it (docs/api.md "Analytics and reports"): both absent, the 30 days up to
today; `to` absent, today; `from` absent, 29 days before `to`; at most MAX_RANGE_DAYS days. Shared
by the orders service's sales figures and the inventory service's turnover, so both read a
range the same way and refuse the same bad ones (INVALID_ARGUMENT naming `from` or `to`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from omnistock_common.errors import FieldViolation, InvalidArgument

MAX_RANGE_DAYS = 366
# Days a range may name (a default bound computed from one stays a real date).
EARLIEST, LATEST = date(1970, 1, 1), date(9998, 12, 31)


@dataclass(frozen=True)
class DateRange:
    """Inclusive UTC days."""

    first: date
    last: date


def date_range(first: str, last: str, today: date) -> DateRange:
    """`from`/`to` as ISO dates (YYYY-MM-DD). Both empty: the last 30 days up to today; one empty:
    the other bound alone (to defaults to today, from to 29 days before to)."""
    problems: list[FieldViolation] = []
    parsed: dict[str, date | None] = {}
    for name, text in (("from", first), ("to", last)):
        parsed[name] = None
        if text:
            try:
                parsed[name] = date.fromisoformat(text) if len(text) == 10 else None
                if parsed[name] is None or not EARLIEST <= parsed[name] <= LATEST:  # type: ignore[operator]
                    raise ValueError
            except ValueError:
                problems.append(
                    FieldViolation(name, "must be an ISO date such as 2026-01-31, from 1970 to 9998")
                )
    if problems:
        raise InvalidArgument("invalid date range", violations=problems)
    end = parsed["to"] or today
    start = parsed["from"] or end - timedelta(days=29)
    if start > end:
        raise InvalidArgument(
            "invalid date range", violations=[FieldViolation("from", "must not be after to")]
        )
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise InvalidArgument(
            "invalid date range", violations=[FieldViolation("from", f"at most {MAX_RANGE_DAYS} days")]
        )
    return DateRange(start, end)
