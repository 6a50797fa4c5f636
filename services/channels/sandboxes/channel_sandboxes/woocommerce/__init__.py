"""WooCommerce sandbox: REST API wc/v3 (keys, products/variations/batch, orders, notes, webhooks)."""

from channel_sandboxes.common import serve
from channel_sandboxes.woocommerce.app import WooConfig, WooSandbox, create_app

__all__ = ["WooConfig", "WooSandbox", "create_app", "serve"]
