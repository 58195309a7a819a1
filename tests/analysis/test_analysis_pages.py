"""The analysis on the call page and in the API: every role reads it, operators re-run it, admins see model I/O."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from analysis.models import CallAnalysis, ModelExchange
from audit.models import AuditEntry
from calls.models import Call, CallTurn
from tests.factories import AgentVersionFactory, CallFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def call(settings):
    settings.LLM_BASE_URLS = []  # rules: no model needed
    version = AgentVersionFactory(config={"brain": "scripted", "success_dispositions": ["booked"]})
    call = CallFactory(agent_version=version, status=Call.Status.IN_PROGRESS, answered_at=timezone.now())
    Call.objects.filter(pk=call.pk).update(status=Call.Status.COMPLETED, ended_at=timezone.now(), disposition="booked")
    CallTurn.objects.create(call=call, index=0, speaker="caller", text="Yes please, thanks")
    CallAnalysis.objects.create(
        call=call,
        status="done",
        method="rules",
        summary="Booked a cleaning.",
        sentiment="positive",
        success=True,
        extraction={"insurer": "Aetna"},
        analyzed_at=timezone.now(),
    )
    ModelExchange.objects.create(call=call, kind="stt", response={"text": "Yes please, thanks"}, confidence=0.91)
    return call


def page(client, call):
    return client.get(f"/calls/{call.pk}/").content.decode()


def test_every_role_reads_the_analysis_but_only_operators_see_the_button(call, viewer_client, client, operator_role):
    html = page(viewer_client, call)
    assert "Booked a cleaning." in html and "Aetna" in html and "Positive" in html
    assert "rerun-analysis" not in html  # viewers get no action buttons
    assert "Model inputs and outputs" not in html

    client.force_login(operator_role)
    html = page(client, call)
    assert "rerun-analysis" in html
    assert "Model inputs and outputs" not in html  # admins only


def test_admins_see_the_model_io_log(call, operator_client):
    ModelExchange.objects.create(
        call=call,
        kind="llm",
        request={
            "messages": [{"role": "system", "content": "You are Ava."}, {"role": "user", "content": "Book me in"}],
            "tools": [{"type": "function", "function": {"name": "book_appointment"}}],
        },
        response={"reply": "Done.", "tool_calls": [{"id": "c1", "name": "book_appointment", "arguments": "{}"}]},
        model="gemma",
    )
    html = page(operator_client, call)  # `operator` is a superuser: an admin
    assert "Model inputs and outputs" in html and "confidence 0.91" in html
    assert "You are Ava." in html and "Book me in" in html and "<code>book_appointment</code>" in html
    assert "book_appointment({})" in html and "gemma" in html


def test_a_viewer_cannot_rerun(call, viewer_client):
    assert viewer_client.post(f"/analysis/calls/{call.pk}/rerun/").status_code == 403
    assert not AuditEntry.objects.exists()


def test_an_operator_reruns_and_it_is_audited(call, client, operator_role, inline_analysis):
    client.force_login(operator_role)
    response = client.post(f"/analysis/calls/{call.pk}/rerun/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    analysis = CallAnalysis.objects.get(call=call)
    assert analysis.runs == 1 and analysis.method == "rules" and analysis.summary.startswith("Call ")
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.verb, entry.target_id) == (operator_role, "re-ran the analysis", str(call.pk))


def test_a_call_still_going_cannot_be_analysed(client, operator_role):
    live = CallFactory(status=Call.Status.IN_PROGRESS, answered_at=timezone.now())
    client.force_login(operator_role)
    assert client.post(f"/analysis/calls/{live.pk}/rerun/").status_code == 409
    assert client.post("/analysis/calls/00000000-0000-0000-0000-000000000000/rerun/").status_code == 404


def api_for(user):
    api = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return api


def test_api_reads_and_reruns_by_role(call, viewer, operator_role, operator, inline_analysis):
    got = api_for(viewer).get(f"/api/calls/{call.pk}/analysis/")
    assert got.status_code == 200 and got.json()["summary"] == "Booked a cleaning."
    assert api_for(viewer).post(f"/api/calls/{call.pk}/analysis/rerun/").status_code == 403

    rerun = api_for(operator_role).post(f"/api/calls/{call.pk}/analysis/rerun/")
    assert rerun.status_code == 202 and rerun.json()["method"] == "rules" and rerun.json()["runs"] == 1

    assert api_for(operator_role).get(f"/api/calls/{call.pk}/model-io/").status_code == 403
    model_io = api_for(operator).get(f"/api/calls/{call.pk}/model-io/")
    assert model_io.status_code == 200 and model_io.json()[0]["response"] == {"text": "Yes please, thanks"}


def test_api_404_until_analysed(viewer):
    unanalysed = CallFactory()
    assert api_for(viewer).get(f"/api/calls/{unanalysed.pk}/analysis/").status_code == 404


def test_the_endpoints_are_in_the_openapi_schema(operator_client):
    schema = operator_client.get("/api/schema/?format=json").json()
    assert {
        "/api/calls/{call_id}/analysis/",
        "/api/calls/{call_id}/analysis/rerun/",
        "/api/calls/{call_id}/model-io/",
    } <= set(schema["paths"])


def test_the_panel_polls_only_while_an_analysis_is_to_come(viewer_client):
    import datetime as dt

    live = CallFactory(status=Call.Status.IN_PROGRESS, answered_at=timezone.now())
    assert 'hx-trigger="every 3s"' in page(viewer_client, live)  # analysed when it ends: the page will show it

    hour_ago = timezone.now() - dt.timedelta(hours=1)
    old = CallFactory(status=Call.Status.IN_PROGRESS, answered_at=hour_ago - dt.timedelta(minutes=5))
    Call.objects.filter(pk=old.pk).update(
        status=Call.Status.COMPLETED, created_at=hour_ago - dt.timedelta(minutes=6), ended_at=hour_ago
    )
    assert 'hx-trigger="every 3s"' not in page(viewer_client, old)  # long over and never analysed: stop asking

    CallAnalysis.objects.create(call=live, status="pending")
    assert 'hx-trigger="every 3s"' in page(viewer_client, live)
    CallAnalysis.objects.filter(call=live).update(status="done")
    assert 'hx-trigger="every 3s"' not in page(viewer_client, live)
    unanswered = CallFactory(status=Call.Status.RINGING)
    assert 'hx-trigger="every 3s"' not in page(viewer_client, unanswered)


def test_whether_the_call_is_still_going_follows_its_status_not_its_end_time(client, operator_role):
    # Ended by its status (a carrier callback without an end time): not "still going", and it can be analysed.
    over = CallFactory(status=Call.Status.IN_PROGRESS, answered_at=timezone.now())
    Call.objects.filter(pk=over.pk).update(status=Call.Status.COMPLETED, ended_at=None)
    client.force_login(operator_role)
    html = page(client, over)
    assert "Not analysed yet." in html and "still going" not in html
    assert "Analyse now" in html and 'hx-trigger="every 3s"' not in html

    # An end time written while the status has not caught up yet: the call is still going.
    going = CallFactory(status=Call.Status.IN_PROGRESS, answered_at=timezone.now())
    Call.objects.filter(pk=going.pk).update(ended_at=timezone.now())
    html = page(client, going)
    assert "The call is still going" in html and "Analyse now" not in html
    assert 'hx-trigger="every 3s"' in html
