"""Debian's Chromium driven by Playwright: one launcher for every browser test."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Playwright's sync API keeps an event loop running in this thread, which
    # makes Django refuse ORM calls here; the test's ORM use is plain and sync.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


def log_in(
    browser: Browser, base_url: str, username: str, password: str, path: str = "/", *, width: int = 1024, **context: Any
) -> Page:
    """A new browser context (its own cookies) logged in as `username` through the login form, left on `path`."""
    page = browser.new_context(viewport={"width": width, "height": 900}, **context).new_page()
    page.goto(f"{base_url}{path}")  # the console sends a stranger to the login form, then back here
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}{path}")
    wait_for_browser_timezone(page)
    return page


# True once the page is rendered in the browser's own zone, or the console does not ask for it
# (static/console/browser_timezone.js posts the zone, then fetches the page again).
_TIMEZONE_SETTLED = """() => {
  const body = document.body;
  if (!body || document.readyState !== "complete") return false;
  if (!body.hasAttribute("data-browser-timezone-url")) return true;
  return body.getAttribute("data-rendered-timezone") === Intl.DateTimeFormat().resolvedOptions().timeZone;
}"""


def wait_for_browser_timezone(page: Page, timeout_ms: int = 60_000) -> None:
    """Wait out the first page's reload into the browser's timezone before acting on it.

    That reload comes when the zone's POST returns: under load it can land after a test
    has chosen something on the page, and wipe the choice (a CI run lost an htmx swap so).
    """
    page.wait_for_function(_TIMEZONE_SETTLED, timeout=timeout_ms)


def screenshot(page: Page, path: Path | str) -> None:
    """A full-page screenshot, its path printed so a test run lists what to look at."""
    page.screenshot(path=str(path), full_page=True)
    print(f"\nscreenshot: {path}")
