"""Shopify sandbox: OAuth code grant, GraphQL Admin API (2025-07), cost throttling, signed webhooks."""

from channel_sandboxes.common import serve
from channel_sandboxes.shopify.app import ShopifyConfig, ShopifySandbox, create_app, shopify_query_hmac

__all__ = ["ShopifyConfig", "ShopifySandbox", "create_app", "serve", "shopify_query_hmac"]
