"""`python -m channel_sandboxes.shopify --port 8701 [--demo]`: run the Shopify sandbox locally.

Flags override the environment (SHOPIFY_CLIENT_ID, SHOPIFY_CLIENT_SECRET, SHOPIFY_SANDBOX_*), so
`make run` can hand the same app credentials to the sandbox and to the channels service.
"""

from __future__ import annotations

from channel_sandboxes.cli import Flag, sandbox_main
from channel_sandboxes.shopify.app import ShopifyConfig, create_app

FLAGS = (
    Flag("--client-id", "client_id"),
    Flag("--client-secret", "client_secret", {"help": "also signs webhooks, as Shopify does"}),
    Flag("--shop", "shop_domain", {"metavar": "SHOP"}),
    Flag("--token-ttl", "token_ttl", {"type": int, "help": "seconds; 0 = non-expiring tokens"}),
    Flag("--refresh-token-ttl", "refresh_token_ttl", {"type": int}),
    Flag("--bucket-size", "bucket_size", {"type": float}),
    Flag("--restore-rate", "restore_rate", {"type": float}),
    Flag("--no-enforce-scopes", "enforce_scopes", {"action": "store_false"}),
)


def banner(config: ShopifyConfig, host: str, port: int) -> str:
    return f"Shopify sandbox for {config.shop_domain} on http://{host}:{port} (client_id {config.client_id})"


def main(argv: list[str] | None = None) -> None:
    sandbox_main("shopify", __doc__, ShopifyConfig.from_env(), FLAGS, create_app, banner, argv)


if __name__ == "__main__":
    main()
