"""The Django side of a call's brain: the server's LLM settings, and the tool port over the apps' services."""

import pytest

from agents.brains.base import CallContext
from agents.brains.llm import LlmDefaults
from agents.brains.tools import run_tool
from agents.runtime import DjangoToolPort, _on_database_thread, llm_defaults

pytestmark = pytest.mark.django_db(transaction=True, reset_sequences=True)


def test_llm_defaults_are_the_servers_settings(settings):
    settings.LLM_BASE_URLS = ["http://gpu-1:8000/v1", "http://gpu-2:8000/v1"]
    settings.LLM_MODEL = "served-model"
    settings.LLM_API_KEY = "secret"
    settings.LLM_FIRST_TOKEN_TIMEOUT_MS = 1234
    assert llm_defaults() == LlmDefaults(
        endpoints=("http://gpu-1:8000/v1", "http://gpu-2:8000/v1"),
        model="served-model",
        api_key="secret",
        first_token_timeout_ms=1234,
    )


async def test_the_port_runs_its_database_work_where_the_engine_says(ctx, lead):
    ran: list[str] = []

    def runner(work):
        ran.append(getattr(work, "__name__", "work"))
        return _on_database_thread(work)

    ctx.tools = DjangoToolPort(run=runner)
    outcome = await run_tool("set_lead_field", {"field": "insurance", "value": "Acme"}, ctx)
    assert outcome.result == {"ok": True, "field": "insurance", "value": "Acme"}
    await run_tool("find_slots", {"count": 1}, ctx)
    assert len(ran) == 2
    await lead.arefresh_from_db()
    assert lead.custom_fields["insurance"] == "Acme"


async def test_a_calendar_that_no_longer_exists_is_an_error_the_agent_reads(lead):
    ctx = CallContext(call_id="gone", config={"calendar": "Closed clinic"}, lead_id=lead.pk, tools=DjangoToolPort())
    assert (await run_tool("find_slots", {}, ctx)).result == {"error": "calendar 'Closed clinic' does not exist"}
    booking = await run_tool("book_appointment", {"start": "2030-01-07T10:00:00+00:00"}, ctx)
    assert booking.result == {"error": "calendar 'Closed clinic' does not exist"}
