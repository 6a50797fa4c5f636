"""eBay's per-listing revision budget, as pure decisions (no Redis here: revisions.py stores).

eBay: "Each listing can be revised up to 250 times in one calendar day. If this revision
threshold is reached, the seller will be blocked from revising the item until the next calendar
day." (Inventory API contract, notes on bulkCreateOrReplaceInventoryItem, updateOffer and
publishOffer, https://developer.ebay.com/api-docs/sell/inventory/resources/offer/methods/updateOffer;
https://developer.ebay.com/develop/guides/listing-management: "Regardless of the API used, active
listings can only be revised a maximum of 250 times per calendar day").

eBay's day: its daily API quotas start at midnight Pacific time ("The day starts at midnight,
00:00:00 PST", Trading API ApiAccessRuleType.DailyHardLimit,
https://developer.ebay.com/Devzone/XML/docs/Reference/eBay/types/ApiAccessRuleType.html). The
revision note does not name a zone; we count by America/Los_Angeles days, eBay's own clock.

Policy: a DECREASE always goes while the listing has a revision left (the channel must never show
more than OmniStock has); an INCREASE or a price change waits while the listing's remaining budget
is at or below the reserve kept for decreases; the LAST revision of the day is never spent on a
figure that a later decrease could need to undo: a decrease then sets the listing to 0 (PARK), so
the channel cannot show more than OmniStock has until the day resets, whatever happens after; at
the cap nothing goes. What waits is answered
RETRY without a call; the sync engine coalesces pending changes per SKU, so the latest figure
goes when allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

DAILY_REVISIONS = 250
DEFAULT_RESERVE = 50
EBAY_DAY_ZONE = ZoneInfo("America/Los_Angeles")


class Change(Enum):
    DECREASE = "decrease"  # lower than the channel shows, or the channel's figure is unknown
    INCREASE = "increase"  # higher than, or equal to, what the channel shows
    PRICE = "price"


class Verdict(Enum):
    SEND = "send"
    PARK = "park"  # the day's last revision: send 0, not the figure
    DEFER = "defer"  # budget low: only decreases go
    CAPPED = "capped"  # no revision left today


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    message: str = ""


def classify_quantity(new: int, last_sent: int | None) -> Change:
    """Unknown figure on the channel → treat as a decrease (it may show more than we have)."""
    if last_sent is None or new < last_sent:
        return Change.DECREASE
    return Change.INCREASE


def decide(change: Change, spent: int, *, reserve: int, resets_at: datetime) -> Decision:
    """Whether one more revision of a listing that already spent `spent` today may go now."""
    remaining = DAILY_REVISIONS - spent
    when = resets_at.isoformat()
    if remaining <= 0:
        return Decision(
            Verdict.CAPPED,
            f"revision cap reached ({DAILY_REVISIONS} per listing per day): held until {when}",
        )
    if change is not Change.DECREASE and remaining <= max(reserve, 1):
        what = "price change" if change is Change.PRICE else "increase"
        return Decision(Verdict.DEFER, f"revision budget low: {what} deferred until {when}")
    if remaining == 1:
        return Decision(
            Verdict.PARK,
            f"revision budget exhausted: listing held at 0 (the day's last revision) until {when}",
        )
    return Decision(Verdict.SEND)


def ebay_day(now: datetime) -> str:
    """The eBay calendar day `now` falls in (YYYY-MM-DD, Pacific time)."""
    return now.astimezone(EBAY_DAY_ZONE).date().isoformat()


def day_resets_at(now: datetime) -> datetime:
    """The next Pacific midnight, as an aware datetime in UTC."""
    local = now.astimezone(EBAY_DAY_ZONE)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=EBAY_DAY_ZONE)
    return midnight.astimezone(now.tzinfo or EBAY_DAY_ZONE)


@dataclass(frozen=True)
class BudgetSummary:
    """The `limits` of a push: the lowest remaining budget among the listings touched, and how
    many of them are at or below the reserve."""

    revisions_left_lowest: int | None
    listings_at_reserve: int
    resets_at: datetime

    def limits(self) -> dict[str, str]:
        out = {
            "listings_at_reserve": str(self.listings_at_reserve),
            "revisions_reset_at": self.resets_at.isoformat(),
        }
        if self.revisions_left_lowest is not None:
            out["revisions_left_lowest"] = str(self.revisions_left_lowest)
        return out


def summarize(spent_by_listing: dict[str, int], *, reserve: int, resets_at: datetime) -> BudgetSummary:
    left = [DAILY_REVISIONS - spent for spent in spent_by_listing.values()]
    return BudgetSummary(
        revisions_left_lowest=min(left) if left else None,
        listings_at_reserve=sum(1 for x in left if x <= reserve),
        resets_at=resets_at,
    )
