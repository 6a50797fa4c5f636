"""The increase gate counts a channel's unavoidable order-feed lag (ChannelType.order_feed_lag)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from channels.domain import CHANNEL_TYPES
from channels.sync.increase_hold import _current, _known_until
from channels.sync.repository import PollState

POLLED = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def test_amazon_orders_count_as_known_for_a_minute_after_its_last_poll_others_not() -> None:
    """Amazon's getOrders allows one read a minute after its burst of 20: its last poll covers an
    increase recorded within that minute; a Shopify poll covers only what came before it."""
    state = PollState(updated_since=None, current_as_of=POLLED, last_attempt_at=POLLED)
    assert CHANNEL_TYPES["amazon"].order_feed_lag == timedelta(seconds=60)
    assert _current(_known_until(state, "amazon"), POLLED + timedelta(seconds=59))
    assert not _current(_known_until(state, "amazon"), POLLED + timedelta(seconds=61))
    assert not _current(_known_until(state, "shopify"), POLLED + timedelta(seconds=1))
    assert _current(_known_until(state, "shopify"), POLLED)
    # Never polled: never current, whatever the channel.
    never = PollState(updated_since=None, current_as_of=None, last_attempt_at=None)
    assert _known_until(never, "amazon") is None and not _current(None, POLLED)
