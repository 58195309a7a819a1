"""The call page's audio player in a real browser (Debian's Chromium driven by Playwright).

A stored recording (through the recordings storage, as the live engine
stores one) plays on the call page: its time advances, the browser fetched
it with range requests (206), and seeking ahead plays from there. The
screenshot is the test's output (its path is printed).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from calls.models import Call
from calls.recordings import recording_delete
from live.recording import RATE, StereoRecorder, save_recording
from tests.e2e.browser_support import browser, wait_for_browser_timezone
from tests.factories import CallFactory, UserFactory
from voiceops.roles import OPERATOR, role_assign

__all__ = ["browser"]  # the shared Chromium fixture

pytestmark = [pytest.mark.e2e]

PASSWORD = "player-pass-123"
SECONDS = 8.0


def _tone_recording(call_id: object) -> str:
    """Eight seconds of a 440 Hz tone on the caller's channel, stored as the live engine stores a recording."""
    recorder = StereoRecorder()
    t = np.arange(int(SECONDS * RATE)) / RATE
    recorder.add_caller((0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), time.monotonic() - SECONDS)
    return save_recording(recorder, call_id)


def test_the_recording_plays_on_the_call_page_and_seeks(voice_server, transactional_db, browser, tmp_path):
    user = UserFactory(username="player-operator", password=PASSWORD, is_staff=False, is_superuser=False)
    role_assign(user=user, role=OPERATOR)
    call = CallFactory(status=Call.Status.COMPLETED, disposition="booked")
    call.recording = _tone_recording(call.pk)
    assert call.recording
    call.save(update_fields=["recording"])

    page = browser.new_context(viewport={"width": 1024, "height": 800}).new_page()
    statuses: list[int] = []
    page.on("response", lambda r: statuses.append(r.status) if "/recording/" in r.url else None)
    try:
        page.goto(f"{voice_server.base_url}/calls/{call.pk}/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        player = page.locator("audio.recording-player")
        player.wait_for()
        wait_for_browser_timezone(page)  # its reload must not land mid-test
        page.wait_for_function("() => document.querySelector('audio.recording-player').readyState >= 1")
        assert page.evaluate("document.querySelector('audio.recording-player').duration") == pytest.approx(
            SECONDS, abs=0.1
        )

        page.evaluate("document.querySelector('audio.recording-player').play()")
        page.wait_for_function(
            "() => document.querySelector('audio.recording-player').currentTime > 2.2", timeout=20_000
        )
        shot = tmp_path / "call-recording-playing.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"\nscreenshot: {shot}")

        # Seek ahead: playback goes on from there (the browser asks for the bytes it needs).
        page.evaluate("document.querySelector('audio.recording-player').currentTime = 5.0")
        page.wait_for_function(
            "() => document.querySelector('audio.recording-player').currentTime > 5.3", timeout=20_000
        )
        assert 206 in statuses, statuses
        assert all(status in (200, 206) for status in statuses), statuses
    finally:
        page.context.close()
        recording_delete(name=call.recording)
