"""The dashboard's fixtures: Debian's Chromium driven by Playwright, a page per test that records
every console error, and the session's live server (reset per test, as everywhere).

Outside CI a machine without Chromium skips these tests, saying why; under ``CI=true`` (where
``.ci/run`` installs the browser) a missing one fails them, so a broken install cannot pass.
"""
from __future__ import annotations

import os
import re
import shutil

import pytest

#: Where the browser is looked for: MOCKCHATS_CHROMIUM, then Debian's names on the PATH.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def chromium_path() -> str | None:
    given = os.environ.get("MOCKCHATS_CHROMIUM")
    if given:
        return given
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


@pytest.fixture(scope="session")
def chromium():
    path = chromium_path()
    if path is None:
        message = "no Chromium installed (apt-get install chromium, or set MOCKCHATS_CHROMIUM)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the dashboard's browser tests: {message}")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        browser = playwright.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield browser
        browser.close()


class Tab:
    """One browser tab on the dashboard, with what its console said."""

    def __init__(self, page, root_url: str):
        self.page, self.root_url = page, root_url
        self.errors: list[str] = []
        page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def open(self, view: str | None = None):
        """The dashboard, once its live journal is connected; then ``view`` (its nav button's name)."""
        from playwright.sync_api import expect

        self.page.goto(f"{self.root_url}/_mock/ui")
        expect(self.page.locator("#live")).to_have_text("live")
        if view:
            self.page.get_by_role("button", name=view, exact=True).click()
        return self.page


#: What Chromium logs for every answer of 400 and up; a refused control is such an answer.
_REFUSED_LOAD = re.compile(r"^Failed to load resource: the server responded with a status of 4\d\d ")


@pytest.fixture
def tab(chromium, server, fresh):
    """A tab on the session's server; at its end, nothing went wrong in the page: no uncaught
    error and no console error but the browser's note of a refused (4xx) call."""
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    opened = Tab(page, server.root_url)
    yield opened
    context.close()
    assert [error for error in opened.errors if not _REFUSED_LOAD.match(error)] == []
