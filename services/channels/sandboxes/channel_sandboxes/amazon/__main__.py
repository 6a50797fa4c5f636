"""`python -m channel_sandboxes.amazon --port 8705 [--demo]`: run the Amazon SP-API sandbox locally.

Flags override the environment (AMAZON_LWA_CLIENT_ID, AMAZON_LWA_CLIENT_SECRET, AMAZON_APP_ID,
AMAZON_SANDBOX_SELLER_ID, _MARKETPLACES, _TOKEN_TTL, _RATE_SCALE, _DEMO), so `make run` hands the
same app credentials to the sandbox and to the amazon connector.
"""

from __future__ import annotations

from channel_sandboxes.amazon.app import AmazonConfig, create_app
from channel_sandboxes.cli import Flag, sandbox_main

FLAGS = (
    Flag("--client-id", "client_id"),
    Flag("--client-secret", "client_secret"),
    Flag("--app-id", "app_id"),
    Flag("--seller-id", "seller_id"),
    Flag("--marketplaces", "marketplaces", {"help": "comma-separated marketplace ids"}),
    Flag("--token-ttl", "token_ttl", {"type": int}),
    Flag("--rate-scale", "rate_scale", {"type": float, "help": "multiplies every usage plan's rate"}),
)


def banner(config: AmazonConfig, host: str, port: int) -> str:
    return f"Amazon SP-API sandbox for seller {config.seller_id} on http://{host}:{port}"


def main(argv: list[str] | None = None) -> None:
    sandbox_main("amazon", __doc__, AmazonConfig.from_env(), FLAGS, create_app, banner, argv)


if __name__ == "__main__":
    main()
