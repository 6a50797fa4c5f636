"""TikTok Shop sandbox: authorization, Partner API 202309 (signed), one-line-per-unit orders, signed webhooks."""

from channel_sandboxes.common import serve
from channel_sandboxes.tiktok.app import (
    TikTokConfig,
    TikTokSandbox,
    create_app,
    tiktok_sign,
    webhook_signature,
)

__all__ = ["TikTokConfig", "TikTokSandbox", "create_app", "serve", "tiktok_sign", "webhook_signature"]
