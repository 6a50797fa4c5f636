"""`python -m channel_sandboxes.meta --port 8703 [--demo]`: run the Meta sandbox locally.

Flags override the environment (META_APP_ID, META_APP_SECRET, META_WEBHOOK_VERIFY_TOKEN,
META_SANDBOX_CURRENCY, META_SANDBOX_DEMO).
"""

from __future__ import annotations

from channel_sandboxes.cli import Flag, sandbox_main
from channel_sandboxes.meta.app import API_VERSION, MetaConfig, create_app

FLAGS = (
    Flag("--app-id", "app_id"),
    Flag("--app-secret", "app_secret"),
    Flag("--verify-token", "verify_token", {"help": "what webhook subscription checks send"}),
    Flag("--currency", "currency"),
)


def banner(config: MetaConfig, host: str, port: int) -> str:
    return f"Meta sandbox (Graph {API_VERSION}) on http://{host}:{port}/{API_VERSION}/ (app {config.app_id})"


def main(argv: list[str] | None = None) -> None:
    sandbox_main("meta", __doc__, MetaConfig.from_env(), FLAGS, create_app, banner, argv)


if __name__ == "__main__":
    main()
