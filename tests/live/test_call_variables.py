"""The call's variables (captures, DTMF heard, callback time) are stored on the call row.

Over the real Media Streams consumer, in process. The dialer reads
call.variables["callback_at"], the API shows them, and a stream reconnected
after DTMF starts from them.
"""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from calls.services import call_store_outcome
from telephony.tokens import stream_token_make
from tests.factories import AgentVersionFactory, CallFactory
from tests.telephony.media_support import start_message
from voiceops.asgi import application

STREAM = "MZ" + "e" * 32


@pytest.mark.django_db(transaction=True, reset_sequences=True)
async def test_dtmf_the_caller_pressed_is_in_the_transcript_and_the_call_variables():
    version = await sync_to_async(AgentVersionFactory)(
        config={"brain": "scripted", "greeting": "", "first_speaker": "caller", "script": []}
    )
    call = await sync_to_async(CallFactory)(agent_version=version, variables={"plan": "gold"})
    communicator = WebsocketCommunicator(application, "/ws/twilio/media/")
    assert (await communicator.connect())[0]
    await communicator.send_json_to(start_message(call.twilio_call_sid, STREAM, stream_token_make(call.pk)))
    for digit in "42#":
        await communicator.send_json_to({"event": "dtmf", "streamSid": STREAM, "dtmf": {"digit": digit}})
    await communicator.send_json_to({"event": "stop", "streamSid": STREAM, "stop": {}})
    message = await communicator.receive_output(timeout=20)
    assert message == {"type": "websocket.close", "code": 1000}

    await sync_to_async(call.refresh_from_db)()
    # Merged into what the call already had (the dialer put "plan" there).
    assert call.variables == {"plan": "gold", "dtmf": "42#"}
    turns = await sync_to_async(lambda: [(t.speaker, t.text) for t in call.turns.order_by("index")])()
    assert turns == [("system", "DTMF 4"), ("system", "DTMF 2"), ("system", "DTMF #")]


@pytest.mark.django_db
def test_variables_that_are_not_json_are_stored_as_text():
    import datetime as dt

    call = CallFactory()
    call_store_outcome(call_id=call.pk, variables={"when": dt.date(2026, 3, 8), "slots": [{"spoken": "Monday"}]})
    call.refresh_from_db()
    assert call.variables == {"when": "2026-03-08", "slots": [{"spoken": "Monday"}]}
