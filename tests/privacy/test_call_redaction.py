"""A caller gives a card number and an e-mail address during a call: stored redacted, logged redacted.

The live engine runs on the harness (virtual clock, fake speech engines), and
its writes go through the real database edge (live.store.CallStore, the
calls services) into the real database: what is checked is what an operator
or an auditor would find afterwards. The brain still hears the clear words.
"""

from __future__ import annotations

import json
import uuid

import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from agents.brains.base import ModelExchange
from analysis.models import ModelExchange as StoredExchange
from calls.models import Call, CallTurn
from live.speech.base import Transcript
from live.store import CallStore
from privacy.models import ClearTurn
from tests.factories import AgentVersionFactory, CallFactory
from tests.live.harness import Harness, ScriptBrain
from voiceops.logging import configure_logging

pytestmark = pytest.mark.django_db(transaction=True, reset_sequences=True)

CARD_AND_EMAIL = (
    "my card is four one one one one one one one one one one one one one one one and email jordan at example dot com"
)
QUIET = {"reminder_after_s": 120, "reminders": []}


def config(**privacy):
    return {"brain": "scripted", "first_speaker": "caller", "script": [], "silence": QUIET, "privacy": privacy}


async def run_call(raw_config, captures=None):
    """One caller turn and one agent reply, stored through the real CallStore; returns the harness and call id.

    `captures` stand for what a flow captured from the caller (Call.variables), stored with the outcome."""
    brain = ScriptBrain(["Thanks, I have jordan at example dot com on file."])
    h = Harness(raw_config, brain=brain)
    call_id = uuid.UUID(h.ctx.call_id)
    await sync_to_async(make_call)(call_id, raw_config)
    store = CallStore(call_id, privacy=h.config.privacy)
    # The harness records turns in memory; here they go to the database as in a real call.
    h.session.store = h.session.replies.store = h.session.actions.store = store
    h.ctx.on_model_exchange = store.add_model_exchange
    await h.start()
    await h.run(0.5)
    await h.say(Transcript(CARD_AND_EMAIL, confidence=0.87), 1.5)  # what the recogniser returns
    await h.run(3.0)
    h.ctx.variables.update(captures or {})
    # What an LLM brain reports through its hook (agents.brains.llm), as the engine would pass it on.
    h.ctx.on_model_exchange(
        ModelExchange(
            messages=[{"role": "user", "content": CARD_AND_EMAIL}],
            tools=[],
            reply="Got it, jordan at example dot com.",
            tool_calls=[],
            model="test",
        )
    )
    await h.finish()
    return h, brain, call_id


def make_call(call_id, raw_config):
    try:
        CallFactory(id=call_id, agent_version=AgentVersionFactory(config=raw_config))
    finally:
        connection.close()  # this helper thread's connection, before the test database is dropped


def stored(call_id):
    try:
        return _stored(call_id)
    finally:
        connection.close()


def _stored(call_id):
    turns = list(CallTurn.objects.filter(call_id=call_id).order_by("index").values_list("speaker", "text"))
    exchanges = list(StoredExchange.objects.filter(call_id=call_id).order_by("id"))
    clear = list(ClearTurn.objects.filter(turn__call_id=call_id).values_list("text", flat=True))
    return turns, exchanges, clear


def stored_variables(call_id):
    try:
        return Call.objects.get(pk=call_id).variables
    finally:
        connection.close()


async def test_card_and_email_are_redacted_in_the_transcript_the_model_log_and_the_logs(capsys):
    configure_logging("INFO")
    _h, brain, call_id = await run_call(config(redact_pii=True))
    turns, exchanges, clear = await sync_to_async(stored)(call_id)

    assert turns == [
        ("caller", "my card is [card] and email [email]"),
        ("agent", "Thanks, I have [email] on file."),
    ]
    assert clear == []  # keep_clear_text is off: the clear text is kept nowhere
    stt = [e for e in exchanges if e.kind == "stt"]
    llm = [e for e in exchanges if e.kind == "llm"]
    assert [(e.response["text"], e.confidence) for e in stt] == [("my card is [card] and email [email]", 0.87)]
    assert llm[0].request["messages"][0]["content"] == "my card is [card] and email [email]"
    assert llm[0].response["reply"] == "Got it, [email]."
    assert all(e.redacted for e in exchanges)

    # The brain heard the caller's own words during the call.
    assert brain.prompts[0][0] == CARD_AND_EMAIL

    log_text = capsys.readouterr().err
    lines = [json.loads(line) for line in log_text.strip().splitlines()]
    caller_lines = [line for line in lines if line.get("event") == "caller_turn"]
    assert caller_lines and caller_lines[0]["text"] == "my card is [card] and email [email]"
    assert "four one one one" not in log_text and "example dot com" not in log_text


async def test_a_version_that_keeps_clear_text_keeps_it_apart():
    _h, _brain, call_id = await run_call(config(redact_pii=True, keep_clear_text=True))
    turns, _exchanges, clear = await sync_to_async(stored)(call_id)
    assert turns[0] == ("caller", "my card is [card] and email [email]")
    assert clear == [CARD_AND_EMAIL, "Thanks, I have jordan at example dot com on file."]


async def test_without_redaction_the_transcript_is_stored_as_said():
    _h, _brain, call_id = await run_call(config())
    turns, exchanges, _clear = await sync_to_async(stored)(call_id)
    assert turns[0] == ("caller", CARD_AND_EMAIL)
    assert not any(e.redacted for e in exchanges)


CAPTURES = {
    "email": "jordan at example dot com",
    "callback_number": "my number is 415 555 0134",
    "card": {"digits": ["4111 1111 1111 1111"]},
    "callback_at": "2026-12-07T14:30:00-05:00",  # a machine time the dialer reads back: never personal
    "party_size": 4,
}


async def test_flow_captures_follow_the_transcripts_redaction():
    _h, _brain, call_id = await run_call(config(redact_pii=True), captures=CAPTURES)
    variables = await sync_to_async(stored_variables)(call_id)
    assert variables["email"] == "[email]"
    assert variables["callback_number"] == "my number is [phone]"
    assert variables["card"] == {"digits": ["[card]"]}
    assert variables["callback_at"] == "2026-12-07T14:30:00-05:00"
    assert variables["party_size"] == 4


async def test_without_redaction_flow_captures_are_stored_as_captured():
    _h, _brain, call_id = await run_call(config(), captures=CAPTURES)
    variables = await sync_to_async(stored_variables)(call_id)
    assert {key: variables[key] for key in CAPTURES} == CAPTURES
