import pytest

import analysis.dispatch
from analysis.tasks import analyze_call

# A scripted OpenAI-compatible server and a refused port, shared with the LLM protocol tests.
from tests.agents.brains.conftest import dead_url, scripted_llm

__all__ = ["dead_url", "scripted_llm"]


@pytest.fixture
def inline_analysis(monkeypatch, settings):
    """Post-call analysis on, run where the test can wait for it (the embedded default uses a thread)."""
    settings.POST_CALL_ANALYSIS = True
    # The task itself, in the test's thread (the thread's wrapper would close the test's connection).
    monkeypatch.setattr(analysis.dispatch, "start_thread", lambda _target, call_id, force: analyze_call(call_id, force))
