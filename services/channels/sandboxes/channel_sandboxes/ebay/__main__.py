"""`python -m channel_sandboxes.ebay --port 8706 [--demo]`: run the eBay sandbox locally.

Flags override the environment (EBAY_CLIENT_ID, EBAY_CLIENT_SECRET, EBAY_RU_NAME,
EBAY_SANDBOX_ACCEPT_URL), so `make run` can hand the same app keyset to the sandbox and the
connector.
"""

from __future__ import annotations

from channel_sandboxes.cli import Flag, sandbox_main
from channel_sandboxes.ebay.app import EbayConfig, create_app

FLAGS = (
    Flag("--client-id", "client_id"),
    Flag("--client-secret", "client_secret"),
    Flag("--ru-name", "ru_name"),
    Flag(
        "--accept-url",
        "accept_url",
        {"help": "where consent for the RuName redirects (the channels callback)"},
    ),
    Flag("--token-ttl", "token_ttl", {"type": int, "help": "seconds an access token lives (eBay: 7200)"}),
)


def banner(config: EbayConfig, host: str, port: int) -> str:
    return f"eBay sandbox for {config.username} on http://{host}:{port} (client_id {config.client_id})"


def main(argv: list[str] | None = None) -> None:
    sandbox_main("ebay", __doc__, EbayConfig.from_env(), FLAGS, create_app, banner, argv)


if __name__ == "__main__":
    main()
