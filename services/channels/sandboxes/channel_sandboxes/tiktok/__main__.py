"""`python -m channel_sandboxes.tiktok --port 8704 [--demo]`: run the TikTok Shop sandbox locally.

Flags override the environment (TIKTOK_APP_KEY, TIKTOK_APP_SECRET, TIKTOK_SERVICE_ID,
TIKTOK_SANDBOX_REDIRECT_URI, TIKTOK_SANDBOX_TOKEN_TTL, TIKTOK_SANDBOX_DEMO), so `make run` hands the
same app credentials to the sandbox and the connector.
"""

from __future__ import annotations

from channel_sandboxes.cli import Flag, sandbox_main
from channel_sandboxes.tiktok.app import TikTokConfig, create_app

FLAGS = (
    Flag("--app-key", "app_key"),
    Flag("--app-secret", "app_secret", {"help": "also signs webhooks, as TikTok does"}),
    Flag("--service-id", "service_id"),
    Flag("--redirect-uri", "redirect_uri", {"help": "where the authorize page sends the seller back"}),
    Flag("--token-ttl", "access_token_ttl", {"type": int, "help": "access token lifetime, seconds"}),
)


def banner(config: TikTokConfig, host: str, port: int) -> str:
    return f"TikTok Shop sandbox for shop {config.shop_id} on http://{host}:{port} (app_key {config.app_key})"


def main(argv: list[str] | None = None) -> None:
    sandbox_main("tiktok", __doc__, TikTokConfig.from_env(), FLAGS, create_app, banner, argv)


if __name__ == "__main__":
    main()
