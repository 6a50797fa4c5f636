"""The dashboard's browser tests' shared pieces: Debian's Chromium driven by Playwright's Python
package (never a browser Playwright downloads), a phone-sized page that records console errors,
the log-in steps, and the whole stack on free ports with the built dashboard
(omnistock_devtools.fullstack: the same commands as `make run`).

The fixtures that use these (`chromium`, `web_dist`) live in tests/browser/conftest.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from omnistock_devtools.fullstack import MIGRATED_SERVICES, FullStack, isolated_vhost

CHROMIUM = Path(os.environ.get("OMNISTOCK_CHROMIUM", "/usr/bin/chromium"))
PASSWORD = "correct-horse-battery"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
# Generous on a shared 2-CPU machine; a healthy run shows each thing within a second or two.
UI_TIMEOUT_MS = 30_000


@contextmanager
def browser_stack(
    tmp_path: Path,
    redis_url: str,
    amqp_url: str,
    web_dist: Path,
    services: Sequence[str],
    *,
    own_vhost: bool = False,
    env: dict[str, str] | None = None,
) -> Iterator[FullStack]:
    """The named services on SQLite files under tmp_path, the gateway serving `web_dist`.

    own_vhost: a RabbitMQ vhost of its own (deleted afterwards) for a stack whose workers consume
    events, so nothing left on the shared vhost reaches them.
    """
    databases = {service: f"sqlite:///{tmp_path / service}.db" for service in MIGRATED_SERVICES}
    full_env = {"GATEWAY_WEB_DIST_DIR": str(web_dist), **(env or {})}
    with ExitStack() as stack:
        if own_vhost:
            amqp_url, _isolated = stack.enter_context(isolated_vhost(amqp_url, prefix="omnistock-browser"))
        yield stack.enter_context(
            FullStack(tmp_path, databases, redis_url, amqp_url, env=full_env, only=tuple(services))
        )


def _watch(page: Any, problems: list[str]) -> None:
    page.set_default_timeout(UI_TIMEOUT_MS)
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda err: problems.append(str(err)))


@contextmanager
def browser_page(chromium: Path, viewport: dict[str, int] | None = None) -> Iterator[tuple[Any, list[str]]]:
    """A page of the given Chromium (phone-sized unless told) and the console errors and page
    exceptions it logs (a test asserts on them after the page is closed)."""
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as pw:
        # executable_path: run this browser instead of a Playwright-bundled one
        # (https://playwright.dev/docs/api/class-browsertype#browser-type-launch).
        # --no-sandbox: CI runs as root, where Chromium's own sandbox refuses to start.
        browser = pw.chromium.launch(executable_path=str(chromium), headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_context(viewport=viewport or PHONE, accept_downloads=True).new_page()
            _watch(page, problems)
            yield page, problems
        finally:
            browser.close()


def phone_page(chromium: Path) -> Any:
    """browser_page on a phone-sized screen (what most tests check: nothing wider than it)."""
    return browser_page(chromium, PHONE)


def log_in(page: Any, base_url: str, path: str, email: str, password: str = PASSWORD) -> None:
    """Open `path` without a session (the app asks for a login and then shows that page)."""
    page.goto(f"{base_url}{path}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def unexpected_problems(problems: list[str]) -> list[str]:
    """Console errors other than the 401s a page handled (an expired token, a wrong password),
    which Chromium logs as failed resources; a CSP violation or an exception is a defect."""
    return [p for p in problems if "status of 401" not in p]


# Every visible form control and button must have an accessible name: a <label for>, a wrapping
# <label>, aria-label / aria-labelledby, or (buttons) its text. Returns those without one.
_UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea, button')]
  .filter(e => e.type !== 'hidden' && e.offsetParent !== null)
  .filter(e => {
    if (e.getAttribute('aria-label') || e.getAttribute('aria-labelledby')) return false;
    if (e.labels && e.labels.length && [...e.labels].some(l => l.textContent.trim())) return false;
    if (e.tagName === 'BUTTON' && e.textContent.trim()) return false;
    return true;
  })
  .map(e => e.outerHTML.slice(0, 120))"""


def unlabelled_controls(page: Any) -> list[str]:
    """The visible controls of the page without an accessible name (a Lighthouse basic)."""
    return list(page.evaluate(_UNLABELLED))


# Nothing wider than the screen: empty, or the page's width and the outermost elements reaching
# past the screen's edge (to say which one) when something is.
_WIDER_THAN_SCREEN = """() => {
  const width = window.innerWidth;
  if (document.documentElement.scrollWidth <= width) return [];
  const past = (e) => e.getBoundingClientRect().right > width + 1;
  // The outermost ones: what pushes the page wider, not everything inside it.
  const wide = [...document.querySelectorAll('body *')]
    .filter((e) => past(e) && !(e.parentElement && past(e.parentElement)))
    .slice(0, 5).map((e) => `${e.tagName}.${e.className}: ${(e.textContent || '').slice(0, 60)}`);
  return [`page ${document.documentElement.scrollWidth}px > screen ${width}px`, ...wide];
}"""


def assert_page_basics(page: Any) -> None:
    """The page as it is now fits its screen (no horizontal scrolling) and names every control."""
    wide = page.evaluate(_WIDER_THAN_SCREEN)
    assert not wide, "wider than the screen:\n" + "\n".join(wide)
    unnamed = unlabelled_controls(page)
    assert not unnamed, "controls without an accessible name:\n" + "\n".join(unnamed)
