"""The whole-suite log audit (omnistock_devtools.log_audit): what counts as a credential in a log
line, and that a run whose code logged one fails, naming the test but not the secret."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from omnistock_devtools.log_audit import PATTERNS, findings, known_secrets

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEiLCJleHAiOjF9.c2lnbmF0dXJlLXZhbHVl"


def test_credential_shapes_are_found() -> None:
    assert findings(f"issued {JWT}", {}) == ["a JWT"]
    assert findings("Authorization: Bearer abcdefghijklmnop1234", {}) == ["a bearer token"]
    assert findings("GET /cb?code=abc123&shop=x", {}) == ["an unredacted secret query parameter"]
    assert findings('body {"email": "a@b.c", "password": "hunter22"}', {}) == ["a password field"]
    assert findings("key is s3cr3t-value", {"channels.config.X": "s3cr3t-value"}) == [
        "the value of channels.config.X"
    ]


def test_redacted_and_harmless_lines_pass() -> None:
    assert findings("GET /cb?code=[REDACTED]&state=[REDACTED]&shop=x", {}) == []
    assert findings("password is too short (at least 8 characters)", {}) == []
    assert findings("login failed for a@b.c", {"x": "s3cr3t-value"}) == []
    assert len(PATTERNS) == 4


def test_the_suite_knows_the_development_secrets() -> None:
    names = set(known_secrets())
    assert "omnistock_common.config.DEV_INTERNAL_TOKEN_SECRET" in names
    assert "gateway.config.DEV_JWT_SECRET" in names
    assert "omnistock_devtools.fake_connector.GOOD_SECRET" in names


SAMPLE = f'''
import logging


def test_clean():
    logging.getLogger("app").info("user %s logged in", "a@b.c")


def test_leaky():
    logging.getLogger("app.auth").info("issued token %s", "{JWT}")
'''


@pytest.mark.parametrize("processes", [[], ["-n", "2"]], ids=["one-process", "xdist"])
def test_a_run_that_logged_a_credential_fails_naming_the_test(tmp_path: Path, processes: list[str]) -> None:
    """Also under pytest-xdist (`make test`): a worker's hits fail the controller's run."""
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["omnistock_devtools.log_audit"]\n')
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:pytest_nameko", "-q", *processes],
        cwd=tmp_path,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "2 passed" in out
    assert "test_sample.py::test_leaky: logger app.auth logged a JWT" in out
    assert "test_clean" not in out.split("log audit")[-1]
    assert JWT not in out  # the audit names what leaked, never the value
