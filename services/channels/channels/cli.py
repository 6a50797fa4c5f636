"""`python -m channels.cli rotate-keys`: re-encrypt stored credentials under the current key.

Key rotation procedure: put the new key FIRST in CREDENTIALS_KEYS and keep the old one behind it
(`new:<b64>,old:<b64>`), restart the servers (they now encrypt with `new` and still decrypt
`old`), run this command, then drop `old` from CREDENTIALS_KEYS.
"""

from __future__ import annotations

import argparse
import sys

from channels.config import load_settings
from channels.crypto import KeyRing
from channels.key_rotation import rotate_credentials
from channels.repository import UnitOfWork
from omnistock_common.config import run_entrypoint
from omnistock_common.db import make_engine


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="channels.cli", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("rotate-keys", help="re-encrypt every connection's credentials with the current key")
    parser.parse_args(argv)
    settings = load_settings()
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        keyring = KeyRing(settings.credentials_keys)
        report = rotate_credentials(UnitOfWork(engine), keyring)
    finally:
        engine.dispose()
    print(
        f"rotated {report.rotated} connection(s) to key {keyring.current_kid!r}; "
        f"{report.already_current} already current; {report.skipped_changed} changed meanwhile (already current)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    run_entrypoint(main)
