"""Fixtures of the dashboard's browser tests (helpers: omnistock_devtools.browser).

Chromium or npm missing: SKIPPED with a banner for a developer, FAILED under CI=true /
OMNISTOCK_REQUIRE_SERVERS=1 (the same rule as the servers, omnistock_devtools.testing). CI
installs Chromium in scripts/ensure-browser.sh; the build is `make web` (npm ci + build).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from omnistock_common.config import project_root
from omnistock_devtools.browser import CHROMIUM
from omnistock_devtools.testing import servers_required


def _unavailable(what: str) -> None:
    """Fail under CI, skip loudly for a developer (testing.require's rule for servers)."""
    if servers_required(os.environ):
        pytest.fail(f"!!! {what} (CI=true / OMNISTOCK_REQUIRE_SERVERS=1 requires it) !!!", pytrace=False)
    pytest.skip(f"!!! {what}: the browser test is SKIPPED !!!")


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"{CHROMIUM} not found: install Debian's package with `apt-get install -y chromium`")
    return CHROMIUM


@pytest.fixture(scope="session")
def web_dist() -> Path:
    """web/dist, built (or rebuilt when a source changed) by `make web`: npm ci + tsc + vite."""
    root = project_root()
    if shutil.which("npm") is None:
        if (root / "web" / "dist" / "index.html").is_file():
            return root / "web" / "dist"
        _unavailable("npm not found and web/dist is not built")
    done = subprocess.run(
        ["make", "--no-print-directory", "web"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"make web failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}", pytrace=False)
    return root / "web" / "dist"
