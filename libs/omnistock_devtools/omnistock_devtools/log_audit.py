"""pytest plugin: the whole suite's log must hold no credential (issue 12, "tokens and logs").

Every record any test makes the code emit (INFO and above, from every logger) is rendered the way
the production handler renders it — through `omnistock_common.logging.sanitize`, as
`setup_logging` installs it — and searched for credentials: JWTs, bearer tokens, unredacted OAuth
and secret query parameters, JSON password fields, and the known development and test secrets.
A hit fails the run at the end, naming the test and the logger (never the secret itself).

Why a whole-suite audit besides `tests/security/test_no_secrets_in_logs.py`: that test drives one
realistic flow; this one sees every path the suite exercises, including error paths that only
other tests reach. Logs of child processes (the full-stack harness) are not seen here.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import pytest

from omnistock_common.logging import quiet_http_client_loggers, sanitize

# Generic shapes of credentials.
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a JWT", re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("a bearer token", re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/-]{16,}")),
    (
        "an unredacted secret query parameter",
        re.compile(
            r"(?i)[?&](?:code|hmac|state|client_secret|access_token|refresh_token|password|consumer_secret)"
            r"=(?!\[REDACTED\])[^&\s\"'#]+"
        ),
    ),
    ("a password field", re.compile(r"(?i)[\"']password[\"']\s*:\s*[\"'][^\"']+[\"']")),
)


def known_secrets() -> dict[str, str]:
    """The development and test secrets the suite runs with: none may appear in a log line."""
    found: dict[str, str] = {}
    sources = (
        ("omnistock_common.config", ("DEV_INTERNAL_TOKEN_SECRET",)),
        ("gateway.config", ("DEV_JWT_SECRET",)),
        ("channels.config", ("DEV_OAUTH_STATE_SECRET", "DEV_CREDENTIALS_KEYS")),
        ("omnistock_devtools.devrun", ("SANDBOX_SHOPIFY_CLIENT_SECRET",)),
        ("omnistock_devtools.demo", ("DEMO_PASSWORD",)),
        ("omnistock_devtools.fake_connector", ("GOOD_SECRET", "WEBHOOK_SECRET")),
    )
    for module_name, names in sources:
        try:
            module = __import__(module_name, fromlist=list(names))
        except ImportError:  # a partial checkout (e.g. a library's own tests) lacks the service
            continue
        for name in names:
            value = getattr(module, name, None)
            if isinstance(value, str) and value:
                found[f"{module_name}.{name}"] = value
    return found


def findings(text: str, secrets: dict[str, str]) -> list[str]:
    """What in `text` (one rendered log record) is a credential: descriptions, never the values."""
    found = [label for label, pattern in PATTERNS if pattern.search(text)]
    found += [f"the value of {name}" for name, value in secrets.items() if value in text]
    return found


@dataclass(frozen=True)
class Hit:
    test: str
    logger: str
    what: str


class AuditHandler(logging.Handler):
    """Renders each record as production would and remembers where a credential showed."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.secrets = known_secrets()
        self.current_test = "(outside any test)"
        self.hits: list[Hit] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = sanitize(record.getMessage())
            if record.exc_info:
                text += "\n" + sanitize(logging.Formatter().formatException(record.exc_info))
        except Exception:  # a record that cannot be rendered is the logging module's to report
            return
        for what in findings(text, self.secrets):
            if len(self.hits) < 200:
                self.hits.append(Hit(self.current_test, record.name, what))


_handler: AuditHandler | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _handler
    _handler = AuditHandler()
    root = logging.getLogger()
    root.addHandler(_handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    quiet_http_client_loggers()  # as setup_logging does in every process


def pytest_runtest_setup(item: pytest.Item) -> None:
    if _handler is not None:
        _handler.current_test = item.nodeid


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None and _handler is not None:
        # An xdist worker's exit status is not the run's: the controller gets the hits instead.
        workeroutput["omnistock_log_audit_hits"] = [(h.test, h.logger, h.what) for h in _handler.hits]
        return
    if _handler is not None and _handler.hits and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    """(xdist controller) A worker's hits count as this run's: they fail it at the end."""
    hits = getattr(node, "workeroutput", {}).get("omnistock_log_audit_hits", [])
    if _handler is not None:
        _handler.hits.extend(Hit(test, logger, what) for test, logger, what in hits)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _handler is None or not _handler.hits:
        return
    terminalreporter.section("credentials in the log (log audit)", sep="!", red=True)
    for hit in _handler.hits:
        terminalreporter.write_line(f"{hit.test}: logger {hit.logger} logged {hit.what}", red=True)
    terminalreporter.write_line(
        "the run FAILS: a log line would have shown a credential (see omnistock_devtools.log_audit)",
        red=True,
    )
