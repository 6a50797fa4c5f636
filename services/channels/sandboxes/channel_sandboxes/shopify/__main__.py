"""`python -m channel_sandboxes.shopify --port 8701 [--demo]`: run the Shopify sandbox locally.

Flags override the environment (SHOPIFY_CLIENT_ID, SHOPIFY_CLIENT_SECRET, SHOPIFY_SANDBOX_*), so
`make run` can hand the same app credentials to the sandbox and to the channels service.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from channel_sandboxes.common import run_until_interrupted
from channel_sandboxes.shopify.app import ShopifyConfig, create_app
from omnistock_common.config import DEFAULT_SANDBOX_PORTS


def main(argv: list[str] | None = None) -> None:
    base = ShopifyConfig.from_env()
    parser = argparse.ArgumentParser(prog="python -m channel_sandboxes.shopify", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_SANDBOX_PORTS["shopify"])
    parser.add_argument("--client-id", default=base.client_id)
    parser.add_argument(
        "--client-secret", default=base.client_secret, help="also signs webhooks, as Shopify does"
    )
    parser.add_argument("--shop", default=base.shop_domain)
    parser.add_argument(
        "--token-ttl", type=int, default=base.token_ttl, help="seconds; 0 = non-expiring tokens"
    )
    parser.add_argument("--refresh-token-ttl", type=int, default=base.refresh_token_ttl)
    parser.add_argument("--bucket-size", type=float, default=base.bucket_size)
    parser.add_argument("--restore-rate", type=float, default=base.restore_rate)
    parser.add_argument("--no-enforce-scopes", action="store_true")
    parser.add_argument("--demo", action="store_true", default=base.demo, help="seed the demo catalogue")
    args = parser.parse_args(argv)
    config = replace(
        base,
        client_id=args.client_id,
        client_secret=args.client_secret,
        shop_domain=args.shop,
        token_ttl=args.token_ttl,
        refresh_token_ttl=args.refresh_token_ttl,
        bucket_size=args.bucket_size,
        restore_rate=args.restore_rate,
        enforce_scopes=not args.no_enforce_scopes,
        demo=args.demo,
    )
    run_until_interrupted(
        create_app(config),
        args.host,
        args.port,
        "shopify-sandbox",
        lambda port: (
            f"Shopify sandbox for {config.shop_domain} on http://{args.host}:{port} "
            f"(client_id {config.client_id})"
        ),
    )


if __name__ == "__main__":
    main()
