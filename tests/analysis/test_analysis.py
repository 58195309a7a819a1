"""Post-call analysis without any LLM (rules) and with one (JSON constrained by a schema, then validated)."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

import analysis.services
import analysis.tasks
from analysis.models import CallAnalysis
from analysis.services import analysis_run
from calls.models import Call, CallTurn
from calls.services import call_set_status, call_store_outcome
from tests.agents.brains.conftest import sse_finish, sse_text
from tests.factories import AgentVersionFactory, CallFactory, LeadFactory

pytestmark = pytest.mark.django_db

FIELDS = [
    {"name": "appointment", "type": "string", "capture": "appointment_choice", "lead_field": "next_visit"},
    {"name": "insurer", "type": "enum", "choices": ["Aetna", "Cigna"], "lead_field": "insurer"},
    {"name": "visits", "type": "number"},
    {"name": "email", "type": "string", "required": True},
]
CONFIG = {
    "brain": "scripted",
    "success_dispositions": ["booked"],
    "analysis": {"fields": FIELDS},
    "privacy": {"redact_pii": True},
}


@pytest.fixture
def events(monkeypatch):
    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr(analysis.services, "webhook_event_emit", lambda *, event, data: sent.append((event, data)))
    return sent


def finished_call(config=CONFIG, *, disposition="booked", variables=None, lines=None, ended=True):
    lead = LeadFactory(custom_fields={"persona": "booker"})
    call = CallFactory(
        agent_version=AgentVersionFactory(config=config),
        lead=lead,
        status=Call.Status.IN_PROGRESS,
        answered_at=timezone.now(),
        disposition=disposition,
        variables=variables if variables is not None else {"appointment_choice": "Tuesday at 2:30 PM"},
    )
    if ended:
        Call.objects.filter(pk=call.pk).update(status=Call.Status.COMPLETED, ended_at=timezone.now())
    lines = lines or [
        ("agent", "Hi, this is Ava. Would you like to book a check-up?"),
        ("caller", "Yes great, Tuesday works. I'm with Aetna. My email is jordan at example dot com."),
        ("agent", "Perfect, you're booked for Tuesday at 2:30 PM."),
    ]
    for index, (speaker, text) in enumerate(lines):
        CallTurn.objects.create(call=call, index=index, speaker=speaker, text=text)
    return call


# --- without any LLM ------------------------------------------------------------------------------


def test_without_an_llm_rules_do_what_they_can_and_say_so(settings, events, django_capture_on_commit_callbacks):
    settings.LLM_BASE_URLS = []
    call = finished_call()
    with django_capture_on_commit_callbacks(execute=True):
        result = analysis_run(call_id=call.pk)

    assert result is not None
    assert result.status == CallAnalysis.Status.DONE and result.method == CallAnalysis.Method.RULES
    assert "No language model is configured" in result.note
    assert result.success is True  # "booked" is a success disposition
    assert result.sentiment == "positive"  # "yes", "great"
    assert result.extraction == {"appointment": "Tuesday at 2:30 PM", "insurer": "Aetna"}
    assert result.missing_required == ["email"]
    assert "booked" in result.summary
    call.lead.refresh_from_db()
    assert call.lead.custom_fields == {"persona": "booker", "next_visit": "Tuesday at 2:30 PM", "insurer": "Aetna"}
    assert [event for event, _data in events] == ["call.analyzed"]
    assert events[0][1]["extraction"] == result.extraction and events[0][1]["call_id"] == str(call.pk)


def test_rules_read_negative_words_and_a_failed_disposition(settings, events):
    settings.LLM_BASE_URLS = []
    call = finished_call(
        disposition="not_interested",
        variables={},
        lines=[("agent", "Hi!"), ("caller", "No. Stop calling me, I'm not interested and annoyed.")],
    )
    result = analysis_run(call_id=call.pk)
    assert result is not None
    assert (result.sentiment, result.success, result.extraction) == ("negative", False, {})


def test_an_answered_call_that_ends_is_analysed_on_its_own(
    settings, inline_analysis, django_capture_on_commit_callbacks
):
    settings.LLM_BASE_URLS = []
    call = finished_call(ended=False)
    with django_capture_on_commit_callbacks(execute=True):
        call_set_status(call_id=call.pk, status=Call.Status.COMPLETED)
    assert CallAnalysis.objects.get(call=call).method == CallAnalysis.Method.RULES


def test_a_session_ending_after_the_carriers_final_callback_is_analysed_again_with_its_last_turn(
    settings, inline_analysis, django_capture_on_commit_callbacks
):
    """Twilio's "completed" may land before the media session stores its last turn and disposition."""
    settings.LLM_BASE_URLS = []
    call = finished_call(ended=False, disposition="")
    with django_capture_on_commit_callbacks(execute=True):
        call_set_status(call_id=call.pk, status=Call.Status.COMPLETED)
    assert CallAnalysis.objects.get(call=call).success is not True  # no disposition yet
    CallTurn.objects.create(call=call, index=3, speaker="caller", text="Thanks, see you then.")
    with django_capture_on_commit_callbacks(execute=True):
        call_store_outcome(call_id=call.pk, disposition="booked", status=Call.Status.COMPLETED)
    analysis = CallAnalysis.objects.get(call=call)
    assert analysis.success is True
    assert "booked" in analysis.summary


def test_a_session_ending_the_call_itself_is_analysed_once(
    settings, inline_analysis, django_capture_on_commit_callbacks, monkeypatch
):
    settings.LLM_BASE_URLS = []
    call = finished_call(ended=False)
    runs: list[object] = []
    real_run = analysis.tasks.analysis_run
    monkeypatch.setattr(analysis.tasks, "analysis_run", lambda **kw: runs.append(kw) or real_run(**kw))
    with django_capture_on_commit_callbacks(execute=True):
        call_store_outcome(call_id=call.pk, disposition="booked", status=Call.Status.COMPLETED)
        call_set_status(call_id=call.pk, status=Call.Status.COMPLETED)  # the carrier's callback, later: no move
    assert len(runs) == 1
    assert CallAnalysis.objects.get(call=call).success is True


def test_unanswered_calls_and_versions_that_turn_it_off_are_not_analysed(
    settings, inline_analysis, django_capture_on_commit_callbacks
):
    settings.LLM_BASE_URLS = []
    unanswered = CallFactory(status=Call.Status.RINGING)
    off = finished_call({**CONFIG, "analysis": {"enabled": False}}, ended=False)
    with django_capture_on_commit_callbacks(execute=True):
        call_set_status(call_id=unanswered.pk, status=Call.Status.NO_ANSWER)
        call_set_status(call_id=off.pk, status=Call.Status.COMPLETED)
    assert not CallAnalysis.objects.exists()


# --- with an LLM --------------------------------------------------------------------------------


def stream_json(answer: dict) -> list:
    text = json.dumps(answer)
    # Streamed in pieces, as a server does.
    return [sse_text(text[i : i + 17]) for i in range(0, len(text), 17)] + [sse_finish("stop"), "[DONE]"]


def test_with_an_llm_the_answer_is_constrained_by_the_schema_and_validated(
    settings, scripted_llm, events, django_capture_on_commit_callbacks
):
    settings.LLM_BASE_URLS = [scripted_llm.base_url]
    settings.LLM_MODEL = "analysis-model"
    scripted_llm.replies.append(
        stream_json(
            {
                "summary": "Jordan booked a check-up for Tuesday; reach them at jordan@example.com.",
                "sentiment": "positive",
                "success": True,
                "fields": {
                    "appointment": "Tuesday 2:30 PM",
                    "insurer": "aetna",
                    "visits": "2",
                    "email": "jordan@example.com",
                },
            }
        )
    )
    call = finished_call()
    with django_capture_on_commit_callbacks(execute=True):
        result = analysis_run(call_id=call.pk)

    request = scripted_llm.requests[0]
    response_format = request["response_format"]
    assert response_format["type"] == "json_schema"
    schema = response_format["json_schema"]["schema"]
    assert schema["properties"]["fields"]["properties"]["insurer"] == {"type": "string", "enum": ["Aetna", "Cigna"]}
    assert schema["properties"]["fields"]["required"] == ["email"]
    assert "caller: Yes great, Tuesday works." in request["messages"][-1]["content"]  # the stored transcript

    assert result is not None
    assert (result.method, result.status, result.model) == ("llm", "done", "analysis-model")
    assert result.summary == "Jordan booked a check-up for Tuesday; reach them at [email]."
    # Validated and typed: the enum takes its declared spelling, the number is a number; PII stored redacted.
    assert result.extraction == {"appointment": "Tuesday 2:30 PM", "insurer": "Aetna", "visits": 2, "email": "[email]"}
    assert result.missing_required == []
    call.lead.refresh_from_db()
    assert call.lead.custom_fields["insurer"] == "Aetna"
    assert [(event, data["method"], data["summary"]) for event, data in events] == [
        ("call.analyzed", "llm", result.summary)
    ]


def test_values_that_fail_validation_are_left_out_and_named(settings, scripted_llm):
    settings.LLM_BASE_URLS = [scripted_llm.base_url]
    scripted_llm.replies.append(
        stream_json(
            {
                "summary": "A short call.",
                "sentiment": "neutral",
                "success": False,
                "fields": {"insurer": "Kaiser", "visits": "many"},
            }
        )
    )
    call = finished_call()
    result = analysis_run(call_id=call.pk)
    assert result is not None and result.status == "done"
    assert result.extraction == {}
    assert "insurer is not one of Aetna, Cigna" in result.note and "visits is not a number" in result.note
    assert result.missing_required == ["email"]
    call.lead.refresh_from_db()
    assert "insurer" not in call.lead.custom_fields  # nothing unvalidated reaches the lead


def test_an_answer_that_is_not_json_fails_the_analysis(settings, scripted_llm):
    settings.LLM_BASE_URLS = [scripted_llm.base_url]
    scripted_llm.replies.append([sse_text("Sure! Here is a summary"), sse_finish("length"), "[DONE]"])
    result = analysis_run(call_id=finished_call().pk)
    assert result is not None and result.status == "failed" and "not JSON" in result.note


def test_an_llm_that_does_not_answer_falls_back_to_rules(settings, dead_url):
    settings.LLM_BASE_URLS = [dead_url]
    result = analysis_run(call_id=finished_call().pk)
    assert result is not None
    assert result.method == "rules" and result.note.startswith("The language model did not answer")
    assert result.extraction["insurer"] == "Aetna"


def test_extraction_fields_are_validated_in_the_version():
    from agents.brains.config import ConfigError, load_config

    with pytest.raises(ConfigError) as refused:
        load_config(
            {
                "analysis": {
                    "fields": [{"name": "Bad Name"}, {"name": "kind", "type": "enum"}, {"name": "x", "type": "colour"}]
                }
            }
        )
    assert set(refused.value.errors) == {
        "analysis.fields[0].name",
        "analysis.fields[1].choices",
        "analysis.fields[2].type",
    }
