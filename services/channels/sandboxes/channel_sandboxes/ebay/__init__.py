"""eBay sandbox: OAuth with RuName, Sell Inventory/Fulfillment v1, revision cap, signed account-deletion notifications."""

from channel_sandboxes.common import serve
from channel_sandboxes.ebay.app import EbayConfig, EbaySandbox, create_app

__all__ = ["EbayConfig", "EbaySandbox", "create_app", "serve"]
