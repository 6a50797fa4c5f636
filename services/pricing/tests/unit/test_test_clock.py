"""PRICING_TEST_CLOCK_FILE: the file's time is "now" for server and workers, the real time without
it, and production settings refuse the switch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from omnistock_common.config import ConfigError
from pricing.config import load_settings
from pricing.server import clock_of, file_clock

PRODUCTION = {
    "OMNISTOCK_ENV": "production",
    "PRICING_DATABASE_URL": "postgresql://pricing:s3cr3t-Very-long-password@db:5432/pricing",
}


def test_the_file_moves_now_and_without_it_the_clock_is_real(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    clock = file_clock(str(path))
    assert abs(clock() - datetime.now(UTC)) < timedelta(seconds=5)  # no file yet
    path.write_text("2026-12-06T09:10:00+00:00")
    assert clock() == datetime(2026, 12, 6, 9, 10, tzinfo=UTC)
    path.write_text("2026-12-06T09:20:00")  # naive: UTC
    assert clock() == datetime(2026, 12, 6, 9, 20, tzinfo=UTC)
    path.write_text("")
    assert abs(clock() - datetime.now(UTC)) < timedelta(seconds=5)


def test_only_development_settings_name_a_clock_file(tmp_path: Path) -> None:
    path = str(tmp_path / "clock")
    settings = load_settings({"PRICING_TEST_CLOCK_FILE": path})
    assert settings.test_clock_file == path and clock_of(settings) is not clock_of(load_settings({}))
    assert load_settings({}).test_clock_file == ""
    with pytest.raises(ConfigError, match="PRICING_TEST_CLOCK_FILE"):
        load_settings({**PRODUCTION, "PRICING_TEST_CLOCK_FILE": path})
