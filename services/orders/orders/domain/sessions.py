"""Sessions a merchant imports per channel and UTC day, and the conversion rate they make possible.

No channel API OmniStock speaks reports storefront sessions, so a merchant who has them (from the
channel's own analytics) imports them: one figure per (UTC day, channel type). A channel's
conversion over a range is its counted orders (domain/sales.py) over its sessions, and only when
its sessions are known for every day of the range: a range with gaps would divide a full count of
orders by part of the visits and overstate the rate, so it stays unknown ("n/a") instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from omnistock_common.day_range import DateRange
from omnistock_common.errors import FieldViolation, InvalidArgument
from orders.domain.model import SOURCES

MAX_IMPORT_ROWS = 10_000
MAX_SESSIONS = 10**12
CHANNELS = tuple(source.lower() for source in SOURCES)
PPM = 1_000_000


@dataclass(frozen=True, order=True)
class SessionsDay:
    day: date
    channel: str
    sessions: int


def parse_sessions(rows: Iterable[tuple[str, str, int]]) -> list[SessionsDay]:
    """(day ISO date, channel type, sessions) rows → SessionsDay, or InvalidArgument naming every
    bad row (`days[i].day`, `.channel`, `.sessions`); one bad row refuses the whole import."""
    parsed: list[SessionsDay] = []
    problems: list[FieldViolation] = []
    seen: set[tuple[date, str]] = set()
    for index, (day_text, channel_text, sessions) in enumerate(rows):
        where = f"days[{index}]"
        if index >= MAX_IMPORT_ROWS:
            problems.append(FieldViolation("days", f"at most {MAX_IMPORT_ROWS} rows per import"))
            break
        try:
            day = date.fromisoformat(day_text)
        except ValueError:
            problems.append(FieldViolation(f"{where}.day", "expected a date YYYY-MM-DD"))
            continue
        channel = channel_text.strip().lower()
        if channel not in CHANNELS:
            problems.append(FieldViolation(f"{where}.channel", f"expected one of {', '.join(CHANNELS)}"))
            continue
        if not 0 <= sessions <= MAX_SESSIONS:
            problems.append(FieldViolation(f"{where}.sessions", f"expected 0 to {MAX_SESSIONS}"))
            continue
        if (day, channel) in seen:
            problems.append(FieldViolation(f"{where}", f"{channel} on {day} is given twice"))
            continue
        seen.add((day, channel))
        parsed.append(SessionsDay(day, channel, sessions))
    if not parsed and not problems:
        problems.append(FieldViolation("days", "at least one row"))
    if problems:
        raise InvalidArgument("invalid sessions", violations=problems)
    return sorted(parsed)


def known_sessions(span: DateRange, totals: Mapping[str, tuple[int, int]]) -> dict[str, int]:
    """channel → sessions over the span, for the channels whose (days imported, sessions) cover
    every day of it."""
    days = (span.last - span.first).days + 1
    return {channel: sessions for channel, (covered, sessions) in totals.items() if covered >= days}


def conversion_ppm(orders: int, sessions: int | None) -> int | None:
    """orders / sessions in parts per million; unknown without sessions or with none at all."""
    if not sessions:
        return None
    return orders * PPM // sessions


def channels_with_sessions(
    orders: Mapping[str, int], sessions: Mapping[str, int]
) -> list[tuple[str, int, int | None]]:
    """(channel, orders, sessions or None) for every channel with orders or known sessions."""
    names = {c for c, n in orders.items() if n} | set(sessions)
    return [(name, orders.get(name, 0), sessions.get(name)) for name in names]
