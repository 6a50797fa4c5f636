"""`python -m channel_sandboxes.woocommerce --port 8702 [--demo]`: run the WooCommerce sandbox locally.

Flags override the environment (WOOCOMMERCE_SANDBOX_CONSUMER_KEY, _CONSUMER_SECRET, _WEBHOOK_SECRET,
_STORE_URL, _HOME_PATH, _DEMO).
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from channel_sandboxes.common import run_until_interrupted
from channel_sandboxes.woocommerce.app import WooConfig, create_app
from omnistock_common.config import DEFAULT_SANDBOX_PORTS


def main(argv: list[str] | None = None) -> None:
    base = WooConfig.from_env()
    parser = argparse.ArgumentParser(prog="python -m channel_sandboxes.woocommerce", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_SANDBOX_PORTS["woocommerce"])
    parser.add_argument("--consumer-key", default=base.consumer_key)
    parser.add_argument("--consumer-secret", default=base.consumer_secret)
    parser.add_argument(
        "--webhook-secret", default=base.webhook_secret, help="for subscriptions given no secret"
    )
    parser.add_argument(
        "--store-url", default=base.store_url, help="public URL (default: the request's host)"
    )
    parser.add_argument(
        "--home-path", default=base.home_path, help="a store in a sub-folder, e.g. /shop (default: root)"
    )
    parser.add_argument("--demo", action="store_true", default=base.demo, help="seed the demo catalogue")
    args = parser.parse_args(argv)
    config = replace(
        base,
        consumer_key=args.consumer_key,
        consumer_secret=args.consumer_secret,
        webhook_secret=args.webhook_secret,
        store_url=args.store_url,
        home_path=args.home_path,
        demo=args.demo,
    )
    run_until_interrupted(
        create_app(config),
        args.host,
        args.port,
        "woocommerce-sandbox",
        lambda port: f"WooCommerce sandbox on http://{args.host}:{port}",
    )


if __name__ == "__main__":
    main()
