"""`python -m channel_sandboxes.woocommerce --port 8702 [--demo]`: run the WooCommerce sandbox locally.

Flags override the environment (WOOCOMMERCE_SANDBOX_CONSUMER_KEY, _CONSUMER_SECRET, _WEBHOOK_SECRET,
_STORE_URL, _HOME_PATH, _DEMO).
"""

from __future__ import annotations

from channel_sandboxes.cli import Flag, sandbox_main
from channel_sandboxes.woocommerce.app import WooConfig, create_app

FLAGS = (
    Flag("--consumer-key", "consumer_key"),
    Flag("--consumer-secret", "consumer_secret"),
    Flag("--webhook-secret", "webhook_secret", {"help": "for subscriptions given no secret"}),
    Flag("--store-url", "store_url", {"help": "public URL (default: the request's host)"}),
    Flag("--home-path", "home_path", {"help": "a store in a sub-folder, e.g. /shop (default: root)"}),
)


def banner(config: WooConfig, host: str, port: int) -> str:
    return f"WooCommerce sandbox on http://{host}:{port}"


def main(argv: list[str] | None = None) -> None:
    sandbox_main("woocommerce", __doc__, WooConfig.from_env(), FLAGS, create_app, banner, argv)


if __name__ == "__main__":
    main()
