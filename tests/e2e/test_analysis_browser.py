"""The call page's analysis in Chromium: an admin analyses a call and sees it arrive; a viewer gets no button;
a call that ends while its page is open shows its analysis without a reload.

The analysis runs as on the embedded default (a thread of the server
process, rules since no LLM is configured); the panel polls while it is
pending, so it appears without a reload. Screenshots are the test's output
(their paths are printed).
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from analysis.models import CallAnalysis, ModelExchange
from calls.models import Call, CallTurn
from calls.services import call_set_status
from tests.e2e.browser_support import browser, log_in
from tests.factories import AgentVersionFactory, CallFactory, LeadFactory, UserFactory
from voiceops.roles import ADMIN, VIEWER, role_assign

__all__ = ["browser"]  # the shared Chromium fixture

pytestmark = [pytest.mark.e2e]

PASSWORD = "analysis-pass-123"
CONFIG = {
    "brain": "scripted",
    "success_dispositions": ["booked"],
    "privacy": {"redact_pii": True},
    "analysis": {"fields": [{"name": "appointment", "capture": "appointment_choice", "lead_field": "next_visit"}]},
}


def _login(browser, base_url, username, path):
    return log_in(browser, base_url, username, PASSWORD, path, width=1024)


def test_an_admin_analyses_a_call_and_a_viewer_only_reads_it(live_server, browser, settings, tmp_path):
    settings.LLM_BASE_URLS = []
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the embedded default: the analysis runs on a thread of the server
    for role in (ADMIN, VIEWER):
        user = UserFactory(username=f"{role}-analysis", password=PASSWORD, is_staff=False, is_superuser=False)
        role_assign(user=user, role=role)
    call = CallFactory(
        agent_version=AgentVersionFactory(config=CONFIG),
        lead=LeadFactory(first_name="Jordan", custom_fields={}),
        status=Call.Status.IN_PROGRESS,
        answered_at=timezone.now(),
        variables={"appointment_choice": "Tuesday at 2:30 PM"},
    )
    Call.objects.filter(pk=call.pk).update(status=Call.Status.COMPLETED, ended_at=timezone.now(), disposition="booked")
    CallTurn.objects.create(call=call, index=0, speaker="agent", text="Shall I book Tuesday at 2:30 PM?")
    CallTurn.objects.create(call=call, index=1, speaker="caller", text="Yes great, thanks. Email me at [email].")
    ModelExchange.objects.create(call=call, kind="stt", response={"text": "Yes great, thanks."}, redacted=True)
    path = f"/calls/{call.pk}/"

    admin = _login(browser, live_server.url, f"{ADMIN}-analysis", path)
    assert "Not analysed yet." in admin.inner_text("#analysis")
    assert "Yes great, thanks." in admin.inner_text("#model-io")  # admins see the model I/O log
    admin.click("button.rerun-analysis")
    admin.wait_for_selector("#analysis .summary", timeout=30_000)  # pending, polled, then done
    assert "Positive" in admin.inner_text("#analysis .sentiment")
    assert "Tuesday at 2:30 PM" in admin.inner_text("#analysis .field-appointment")
    assert "rules only" in admin.inner_text("#analysis .analysis-note")
    assert admin.locator("#model-io").count() == 1  # the panel is swapped whole, never stacked
    admin.screenshot(path=str(tmp_path / "analysis-admin.png"), full_page=True)
    print(f"\nscreenshot: {tmp_path / 'analysis-admin.png'}")
    assert CallAnalysis.objects.get(call=call).status == "done"

    # A call still going: its page shows the analysis by itself once the call ends.
    settings.POST_CALL_ANALYSIS = True
    going = CallFactory(agent_version=call.agent_version, status=Call.Status.IN_PROGRESS, answered_at=timezone.now())
    CallTurn.objects.create(call=going, index=0, speaker="caller", text="No thanks, not interested.")
    admin.goto(f"{live_server.url}/calls/{going.pk}/")
    assert "still going" in admin.inner_text("#analysis")
    call_set_status(call_id=going.pk, status=Call.Status.COMPLETED)  # as the carrier's status callback would
    admin.wait_for_selector("#analysis .summary", timeout=30_000)  # no reload: the panel polls
    assert "Negative" in admin.inner_text("#analysis .sentiment")
    admin.screenshot(path=str(tmp_path / "analysis-live.png"), full_page=True)
    print(f"screenshot: {tmp_path / 'analysis-live.png'}")
    admin.context.close()

    viewer = _login(browser, live_server.url, f"{VIEWER}-analysis", path)
    assert "Tuesday at 2:30 PM" in viewer.inner_text("#analysis")
    assert viewer.locator("button.rerun-analysis").count() == 0
    assert viewer.locator("#model-io").count() == 0
    viewer.screenshot(path=str(tmp_path / "analysis-viewer.png"), full_page=True)
    print(f"screenshot: {tmp_path / 'analysis-viewer.png'}")
    viewer.context.close()
