"""`python -m omnistock_common.migrate_all catalog inventory gateway`: upgrade each service's DB.

Used by `make run` (locally) and by the Kubernetes migration Jobs.
"""

from __future__ import annotations

import importlib
import sys

from omnistock_common.config import run_entrypoint
from omnistock_common.migrations import upgrade


def database_url_for(service: str) -> str:
    config_module = importlib.import_module(f"{service}.config")
    return config_module.load_settings().database_url


def main(argv: list[str]) -> int:
    for service in argv:
        url = database_url_for(service)
        upgrade(service, url)
        print(f"migrated {service}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    run_entrypoint(lambda: main(sys.argv[1:]))
