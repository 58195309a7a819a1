"""The webhooks console in a real browser (Debian's Chromium driven by Playwright).

An operator adds an endpoint (the page shows its secret once), an event fails
to reach the receiver, and the operator replays it from the delivery log; the
real local receiver gets the replay signed with the secret the page showed,
as the README's snippet verifies. A screenshot of the page is the output.
"""

from __future__ import annotations

import json
import os
import threading

import pytest

from tests.e2e.browser_support import browser, wait_for_browser_timezone
from tests.factories import UserFactory
from tests.webhooks.conftest import _fresh_subscriptions, receiver
from tests.webhooks.readme_snippet import readme_verifier
from webhooks import services
from webhooks.models import Delivery, Endpoint

__all__ = ["_fresh_subscriptions", "browser", "receiver"]  # shared fixtures

pytestmark = [pytest.mark.e2e]


def attempts_finish(delivery_id: int) -> None:
    """Join the in-process attempt (the embedded default runs it on a timer thread)."""
    for thread in threading.enumerate():
        if thread.name == f"webhook-delivery-{delivery_id}":
            thread.join(timeout=30)


def test_an_operator_adds_an_endpoint_and_replays_a_failed_delivery(
    live_server, receiver, browser, settings, monkeypatch, tmp_path
):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True  # the receiver is on 127.0.0.1
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the embedded default: attempts on a thread of this process
    monkeypatch.setattr(services, "MAX_ATTEMPTS", 1)  # fail at once, no 30 s retry left running after the test
    receiver.statuses = [503, 200]
    UserFactory(username="hooks", password="hooks-pass-123")
    page = browser.new_page()
    page.goto(f"{live_server.url}/webhooks/")
    page.fill("input[name=username]", "hooks")
    page.fill("input[name=password]", "hooks-pass-123")
    page.click("button[type=submit]")
    page.wait_for_selector("#endpoint-form")
    wait_for_browser_timezone(page)  # its reload must not land mid-test

    page.fill("input[name=url]", f"http://127.0.0.1:{receiver.port}/hooks/voiceops")
    page.check("input[name=events][value='call.ended']")
    page.fill("input[name=description]", "CRM")
    page.click("#create-endpoint")
    page.wait_for_selector("#new-secret")
    endpoint = Endpoint.objects.get()
    shown_secret = page.inner_text("#new-secret code")
    assert shown_secret == endpoint.secret and endpoint.events == ["call.ended"]

    [first_id] = services.webhook_event_emit(event="call.ended", data={"id": "c-1", "status": "completed"})
    attempts_finish(first_id)
    assert Delivery.objects.get(pk=first_id).status == "failed"
    page.goto(f"{live_server.url}/webhooks/{endpoint.pk}/")
    assert "Failed" in page.inner_text(f"#delivery-{first_id} .status")
    assert "503" in page.inner_text(f"#delivery-{first_id} .attempts")
    assert shown_secret not in page.content()  # shown once only

    page.click(f"#delivery-{first_id} button.replay")
    page.wait_for_selector(".messages")
    replay = Delivery.objects.get(replay_of_id=first_id)
    attempts_finish(replay.pk)
    page.reload()
    assert "Succeeded" in page.inner_text(f"#delivery-{replay.pk} .status")
    assert "200" in page.inner_text(f"#delivery-{replay.pk} .attempts")
    page.screenshot(path=str(tmp_path / "webhooks.png"), full_page=True)
    shot = os.environ.get("WEBHOOKS_SCREENSHOT")
    if shot:
        page.screenshot(path=shot, full_page=True)
    print(f"screenshot: {tmp_path / 'webhooks.png'}")

    first, second = receiver.requests
    assert first.body == second.body and json.loads(second.body)["data"]["id"] == "c-1"
    verify = readme_verifier()
    assert verify(shown_secret, second.headers["x-voiceops-signature"], second.body)
