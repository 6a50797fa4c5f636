"""Log hygiene: secrets in query strings are redacted, control characters cannot forge lines,
and SQLAlchemy never logs bound parameters."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
from sqlalchemy import text

from omnistock_common.db import make_engine
from omnistock_common.logging import (
    JsonFormatter,
    SanitizingFilter,
    escape_controls,
    redact_query_secrets,
    setup_logging,
)


def test_oauth_query_secrets_are_redacted_and_the_rest_kept() -> None:
    line = (
        "GET /api/v1/channels/oauth/callback?code=0907a61c0c8d55e99db179b68161bc00&hmac=700e2dad"
        "&shop=demo.myshopify.com&state=eyJ0.abc&timestamp=1337178173 HTTP/1.1"
    )
    clean = redact_query_secrets(line)
    for secret in ("0907a61c0c8d55e99db179b68161bc00", "700e2dad", "eyJ0.abc"):
        assert secret not in clean
    assert "shop=demo.myshopify.com" in clean and "timestamp=1337178173" in clean
    assert redact_query_secrets("/x?Consumer_Secret=cs_1&page=2") == "/x?Consumer_Secret=[REDACTED]&page=2"
    assert redact_query_secrets("no url, code=123 in prose") == "no url, code=123 in prose"


def test_control_characters_are_escaped() -> None:
    assert escape_controls("/a\n127.0.0.1 GET /admin 200\r\x00\u2028") == (
        "/a\\x0a127.0.0.1 GET /admin 200\\x0d\\x00\\u2028"
    )


def test_setup_logging_sanitises_root_and_server_access_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    access = logging.getLogger("gunicorn.access")
    try:
        setup_logging("test", "INFO", "text")
        logging.getLogger("gateway.access").info("%s %s %s", "GET", "/p\nFAKE 200", 404)
        assert any(isinstance(f, SanitizingFilter) for f in access.filters)
        own = logging.StreamHandler(stream)
        access.addHandler(own)  # gunicorn gives its access logger a handler of its own
        access.info("%(r)s %(s)s", {"r": "GET /cb?code=s3cr3t-code&shop=a HTTP/1.1", "s": "200"})
        access.removeHandler(own)
    finally:
        root.handlers[:], _ = saved[0], root.setLevel(saved[1])
        access.filters[:] = [f for f in access.filters if not isinstance(f, SanitizingFilter)]
    out = stream.getvalue()
    assert "FAKE 200" in out and "\nFAKE" not in out
    assert "s3cr3t-code" not in out and "code=[REDACTED]&shop=a" in out


def test_json_format_carries_the_sanitised_message() -> None:
    record = logging.LogRecord("x", logging.INFO, "", 0, "callback %s", ("/cb?state=abc.def",), None)
    SanitizingFilter().filter(record)
    assert json.loads(JsonFormatter("svc").format(record))["msg"] == "callback /cb?state=[REDACTED]"


def test_engines_never_log_bound_parameters(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}", echo=True)
    try:
        with caplog.at_level(logging.INFO, logger="sqlalchemy.engine"), engine.connect() as conn:
            conn.execute(text("SELECT :secret AS s"), {"secret": "hunter2-password-hash"})
            with pytest.raises(Exception) as failed:
                conn.execute(text("SELECT * FROM missing WHERE x = :secret"), {"secret": "hunter2-token"})
    finally:
        engine.dispose()
    assert "SELECT" in caplog.text
    assert "hunter2" not in caplog.text and "hunter2" not in str(failed.value)
