"""The page checks every browser test relies on (omnistock_devtools.browser.assert_page_basics)
catch what they are for: a control without an accessible name, a page wider than the screen."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnistock_devtools.browser import assert_page_basics, phone_page, unlabelled_controls

pytestmark = [pytest.mark.slow]


def test_unnamed_controls_and_overflow_are_reported(chromium: Path) -> None:
    with phone_page(chromium) as (page, _problems):
        page.set_content(
            """<main>
              <label for="a">Named</label><input id="a">
              <label>Wrapped <select><option>x</option></select></label>
              <input aria-label="By aria">
              <button>Text</button>
              <input id="unnamed" type="text">
              <button type="button"></button>
              <input type="hidden">
            </main>"""
        )
        unnamed = unlabelled_controls(page)
        assert len(unnamed) == 2 and 'id="unnamed"' in unnamed[0] and unnamed[1].startswith("<button")
        with pytest.raises(AssertionError, match="without an accessible name"):
            assert_page_basics(page)

        page.set_content('<main><label for="b">Fine</label><input id="b"></main>')
        assert_page_basics(page)
        page.set_content('<main><div style="width: 2000px">wide</div></main>')
        with pytest.raises(AssertionError, match="wider than the screen"):
            assert_page_basics(page)
