"""scripts/ensure-browser.sh: Chromium (and Node.js) for the dashboard tests, loud for a developer
and fatal under CI when missing. OMNISTOCK_BROWSER_INSTALL=0 keeps apt-get out of these tests."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ensure-browser.sh"


def run_script(chromium: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in {"CI", "OMNISTOCK_REQUIRE_SERVERS"}}
    return subprocess.run(
        ["bash", str(SCRIPT)],
        env={**base, "OMNISTOCK_CHROMIUM": str(chromium), "OMNISTOCK_BROWSER_INSTALL": "0", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_an_executable_browser_is_accepted(tmp_path: Path) -> None:
    browser = tmp_path / "chromium"
    browser.write_text("#!/bin/sh\n")
    browser.chmod(0o755)
    result = run_script(browser)
    assert result.returncode == 0
    assert str(browser) not in result.stderr


def test_a_missing_browser_fails_under_ci_and_is_named(tmp_path: Path) -> None:
    result = run_script(tmp_path / "no-chromium", CI="true")
    assert result.returncode == 1
    assert f"{tmp_path / 'no-chromium'} (apt-get install -y chromium) is missing: CI=true" in result.stderr


def test_a_missing_browser_only_warns_a_developer(tmp_path: Path) -> None:
    result = run_script(tmp_path / "no-chromium")
    assert result.returncode == 0
    assert "browser test will be SKIPPED" in result.stderr
