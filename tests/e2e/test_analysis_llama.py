"""Post-call analysis against a real OpenAI-compatible server: llama-cpp-python on Gemma 3 270M.

llama-cpp-python's server knows `response_format` only as
``{"type": "json_object", "schema": ...}`` and refuses the OpenAI/vLLM form,
so this also runs the analysis's second ask. A 270M model's words are not
predictable: the test checks what the analysis guarantees (a schema-valid,
typed answer stored as the LLM's, the lead written only with valid values),
not what the model concluded.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from analysis.models import CallAnalysis
from analysis.schema import SENTIMENTS
from analysis.services import analysis_run
from calls.models import Call, CallTurn
from tests.factories import AgentVersionFactory, CallFactory, LeadFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

CONFIG = {
    "brain": "scripted",
    "success_dispositions": ["booked"],
    "analysis": {
        "fields": [
            {"name": "day", "type": "enum", "choices": ["Monday", "Tuesday", "Friday"], "lead_field": "visit_day"},
            {"name": "wants_reminder", "type": "boolean", "required": True},
            {"name": "patients", "type": "number"},
        ]
    },
}


def test_the_real_model_answers_in_the_schema_and_it_is_stored(settings, llama_server):
    settings.LLM_BASE_URLS = [llama_server.base_url]
    lead = LeadFactory(custom_fields={})
    call = CallFactory(
        agent_version=AgentVersionFactory(config=CONFIG),
        lead=lead,
        status=Call.Status.IN_PROGRESS,
        answered_at=timezone.now(),
    )
    Call.objects.filter(pk=call.pk).update(status=Call.Status.COMPLETED, ended_at=timezone.now(), disposition="booked")
    for index, (speaker, text) in enumerate(
        [
            ("agent", "Hi, this is Ava from Bright Smile Dental. Shall we book your check-up?"),
            ("caller", "Yes, Tuesday please, for me and my son, so two patients. And text me a reminder."),
            ("agent", "Done: Tuesday at 10 AM for two. I'll text you a reminder."),
        ]
    ):
        CallTurn.objects.create(call=call, index=index, speaker=speaker, text=text)

    result = analysis_run(call_id=call.pk)

    assert result is not None
    assert result.method == CallAnalysis.Method.LLM, result.note
    assert result.status == CallAnalysis.Status.DONE, result.note
    assert result.summary and result.sentiment in SENTIMENTS and isinstance(result.success, bool)
    # Whatever the model chose, what was kept has the declared types.
    assert set(result.extraction) <= {"day", "wants_reminder", "patients"}
    assert result.extraction.get("day", "Monday") in ("Monday", "Tuesday", "Friday")
    assert isinstance(result.extraction.get("wants_reminder", False), bool)
    assert isinstance(result.extraction.get("patients", 0), int | float)
    lead.refresh_from_db()
    assert lead.custom_fields == ({"visit_day": result.extraction["day"]} if "day" in result.extraction else {})
