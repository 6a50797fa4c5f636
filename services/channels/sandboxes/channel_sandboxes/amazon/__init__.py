"""Amazon Selling Partner API sandbox: LWA, listings, JSON listings feeds, orders v0."""

from channel_sandboxes.amazon.app import AmazonConfig, AmazonSandbox, create_app
from channel_sandboxes.common import serve

__all__ = ["AmazonConfig", "AmazonSandbox", "create_app", "serve"]
