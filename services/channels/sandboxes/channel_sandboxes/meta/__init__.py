"""Meta sandbox: Graph API v25.0 (catalog items_batch, products, commerce orders) and Facebook Login."""

from channel_sandboxes.common import serve
from channel_sandboxes.meta.app import MetaConfig, MetaSandbox, create_app

__all__ = ["MetaConfig", "MetaSandbox", "create_app", "serve"]
