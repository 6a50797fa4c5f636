"""The ChannelHttpClient hooks that read Shopify's GraphQL cost reports (server.py installs them):
how long a THROTTLED answer says to wait, and the shop's bucket as Shopify reports it."""

from __future__ import annotations

import httpx

from omnistock_connector_kit.rate_limit import BucketLevel
from shopify_connector import protocol as p


def throttle_delay(response: httpx.Response) -> float | None:
    """ChannelHttpClient hook: Shopify GraphQL reports THROTTLED in the body (HTTP 200 or 429);
    the wait is what the query needs divided by the restore rate from extensions.cost."""
    if response.status_code not in (200, 429):
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    return p.throttle_wait(body)


def reported_bucket_level(response: httpx.Response) -> BucketLevel | None:
    """ChannelHttpClient hook: the shop's GraphQL bucket as Shopify reports it
    (`extensions.cost.throttleStatus`: currentlyAvailable, maximumAvailable, restoreRate).

    Our debit is the *requested* cost; Shopify only charges the *actual* cost, so without the level
    the local bucket would drain far faster than the real one (an orders page is estimated at ~950
    points but costs far less). The size and restore rate are the shop's plan figures (Standard
    100 points/s ... Plus 1000 points/s, https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits):
    adopting them keeps a bigger plan from being paced at the configured default."""
    if response.status_code != 200 or "json" not in response.headers.get("content-type", ""):
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    available = p.currently_available(body)
    if available is None:
        return None
    maximum, restore = p.bucket_size(body)
    return BucketLevel(available, capacity=maximum, refill_per_second=restore)
