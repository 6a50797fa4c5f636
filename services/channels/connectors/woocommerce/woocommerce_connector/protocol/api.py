"""WooCommerce REST (wc/v3) basics: namespace and limits, per-item outcomes, remote ids, the
store's REST root.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

# Per-item outcomes are the connector kit's, shared by every connector (re-exported).
from omnistock_connector_kit.values import ItemResult
from omnistock_connector_kit.values import Outcome as Outcome

# The REST namespace every path below is relative to (https://store/wp-json/wc/v3/).
API_VERSION = "wc/v3"
# WooCommerce's batch endpoints accept at most 100 objects per request (create+update+delete);
# more is a 400 for the whole request (CHANNELS.md 2.2).
MAX_BATCH = 100
# WordPress core caps per_page at 100 for every collection (CHANNELS.md 2.3).
MAX_PER_PAGE = 100

# What became of one pushed item (the kit's ItemResult, by its WooCommerce name).
ItemOutcome = ItemResult

# Per-item outcomes are the connector kit's, shared by every connector (re-exported).


class ProtocolError(ValueError):
    """Input the connector cannot turn into a WooCommerce request (bad ids, bad cursor)."""


@dataclass(frozen=True)
class WooTarget:
    """Where one SKU lives in the store: a simple product, or a variation under its parent."""

    product_id: int
    variation_id: int | None = None

    @property
    def is_variation(self) -> bool:
        return self.variation_id is not None


def parse_target(ids: Mapping[str, str]) -> WooTarget:
    """Turn listing-mapping ids ({product_id, variation_id?}) into a target.

    A variation must be addressed through its parent (`products/<parent>/variations/...`), so a
    variation_id without a product_id is unusable and rejected rather than guessed.
    """
    product_raw = (ids.get("product_id") or "").strip()
    variation_raw = (ids.get("variation_id") or "").strip()
    if not product_raw:
        raise ProtocolError("no WooCommerce product_id mapped for this SKU")
    product_id = _positive_int(product_raw, "product_id")
    if not variation_raw or variation_raw == "0":
        # Woo reports variation_id 0 on line items of simple products; treat it as absent.
        return WooTarget(product_id)
    return WooTarget(product_id, _positive_int(variation_raw, "variation_id"))


def _positive_int(raw: str, name: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ProtocolError(f"{name} {raw!r} is not a WooCommerce id (integer expected)") from None
    if value <= 0:
        raise ProtocolError(f"{name} {raw!r} is not a WooCommerce id (positive integer expected)")
    return value


def remote_ids(product_id: Any, variation_id: Any = None) -> dict[str, str]:
    """Listing-mapping ids as strings, the shape RemoteIds.ids carries."""
    ids = {"product_id": str(product_id)}
    if variation_id not in (None, 0, "0", ""):
        ids["variation_id"] = str(variation_id)
    return ids


def rest_root(store_url: str) -> str:
    """The REST root of a store: `{store_url}/wp-json/wc/v3` (WooCommerce REST API v3 lives under
    the site's WP REST prefix, https://developer.woocommerce.com/docs/apis/rest-api/ and
    CHANNELS.md 2; a store installed in a sub-directory keeps its path). "" for anything that is
    not an absolute http(s) URL without credentials, query or fragment.
    """
    url = store_url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username
        or parts.password
        or parts.query
        or parts.fragment
    ):
        return ""
    return f"{url.rstrip('/')}/wp-json/{API_VERSION}"


def store_of_rest_root(api_base_url: str) -> str:
    """The store URL of a `.../wp-json/wc/v3` REST root, else ""."""
    base = api_base_url.strip().rstrip("/")
    suffix = f"/wp-json/{API_VERSION}"
    return base[: -len(suffix)] if base.endswith(suffix) else ""
