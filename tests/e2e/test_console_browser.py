"""The operator console in a real browser (Debian's Chromium driven by Playwright).

An operator logs in, opens the live page, and a call changing state on the
server reaches the page over the console WebSocket and updates its row.
"""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import WebSocket

from calls.models import Call
from calls.services import call_set_status
from tests.e2e.browser_support import browser, wait_for_browser_timezone
from tests.factories import CallFactory, UserFactory

__all__ = ["browser"]  # the shared Chromium fixture

pytestmark = [pytest.mark.e2e]


def test_operator_sees_a_call_change_live(voice_server, transactional_db, browser, tmp_path):
    UserFactory(username="watcher", password="watcher-pass-123")
    call = CallFactory(status=Call.Status.RINGING)
    page = browser.new_page()
    sockets: list[WebSocket] = []
    frames: list[str] = []

    def watch(ws: WebSocket) -> None:
        sockets.append(ws)
        ws.on("framereceived", lambda payload: frames.append(str(payload)))

    page.on("websocket", watch)
    page.goto(f"{voice_server.base_url}/")
    page.fill("input[name=username]", "watcher")
    page.fill("input[name=password]", "watcher-pass-123")
    page.click("button[type=submit]")
    page.wait_for_selector(f"#call-{call.pk}")
    wait_for_browser_timezone(page)  # its reload must not land mid-test
    assert "Ringing" in page.inner_text(f"#call-{call.pk} .status")
    page.wait_for_function("() => document.querySelector('[ws-connect]') !== null")
    # One socket per page load (the first page's reload into the browser's zone opens a second).
    assert sockets and all(ws.url.endswith("/ws/console/live/") for ws in sockets), [ws.url for ws in sockets]

    call_set_status(call_id=call.pk, status=Call.Status.IN_PROGRESS)

    page.wait_for_function(
        "id => document.querySelector('#call-' + id + ' .status').textContent.includes('In progress')",
        arg=str(call.pk),
        timeout=30_000,
    )
    # The row came over the socket (not only from the page's periodic refresh).
    assert any(f'id="call-{call.pk}"' in frame and "In progress" in frame for frame in frames), json.dumps(frames)
    page.screenshot(path=str(tmp_path / "console.png"), full_page=True)
