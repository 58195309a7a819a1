"""The live engine's database edge: one call waiting on a row lock holds up no other call.

Real PostgreSQL: another connection holds SELECT ... FOR UPDATE on one call's
row (as a status webhook batch or an operator's transaction might), and a
second call's session must still get its turns stored meanwhile.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from asgiref.sync import sync_to_async
from django.db import connection, transaction

from agents.brains.base import CallContext
from agents.brains.config import load_config
from calls.models import Call, CallTurn
from live.pipeline.vad import silero_session
from live.session import CallSession, Transport
from live.setup import build_session
from live.speech.stt import get_stt
from live.speech.tts import get_tts
from tests.factories import AgentVersionFactory, CallFactory
from tests.live.harness import FakeSTT, FakeTTS, ScriptBrain

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True, reset_sequences=True),
    # SQLite has no row locks to hold (it serialises writers on one file lock).
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's row locks"),
]

CONFIG = {"brain": "scripted", "greeting": "", "first_speaker": "caller", "script": []}


@contextmanager
def row_locked(call_id) -> Iterator[None]:
    """Another connection holds the call's row lock until the block ends."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                Call.objects.select_for_update().get(pk=call_id)
                held.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold, name="row-lock-holder")
    holder.start()
    assert held.wait(10)
    try:
        yield
    finally:
        release.set()
        holder.join(10)


def stored_turns(call_id) -> list[str]:
    try:
        return list(CallTurn.objects.filter(call_id=call_id).order_by("index").values_list("text", flat=True))
    finally:
        connection.close()


# A thread of its own for the look: the old engine queued every write on
# asgiref's one shared thread, where a look would wait behind the stuck write.
look = sync_to_async(stored_turns, thread_sensitive=False)


async def wait_for_turns(call_id, count: int) -> list[str]:
    for _ in range(200):  # a bound (10 s), not a timing
        turns = await look(call_id)
        if len(turns) >= count:
            return turns
        await asyncio.sleep(0.05)
    return turns


def session_for(call: Call) -> CallSession:
    config = load_config(CONFIG)
    ctx = CallContext(call_id=str(call.pk), config=CONFIG)
    return CallSession(
        call_id=call.pk,
        call_sid=call.twilio_call_sid or "",
        stream_sid="MZ" + str(call.pk.hex)[:32],
        config=config,
        ctx=ctx,
        brain=ScriptBrain(),
        stt=FakeSTT(),
        tts=FakeTTS(),
        transport=Transport(),
    )


async def test_a_call_waiting_on_a_row_lock_does_not_hold_up_another_calls_turns():
    stuck_call = await sync_to_async(CallFactory)(status=Call.Status.IN_PROGRESS)
    other_call = await sync_to_async(CallFactory)(status=Call.Status.IN_PROGRESS)
    stuck, other = session_for(stuck_call), session_for(other_call)
    await stuck.start()
    await other.start()

    with row_locked(stuck_call.pk):
        stuck.on_dtmf("1")  # its write waits for the lock
        await asyncio.sleep(0)
        other.on_dtmf("2")
        other.on_dtmf("3")
        assert await wait_for_turns(other_call.pk, 2) == ["DTMF 2", "DTMF 3"]
        assert await look(stuck_call.pk) == []

    # Once the lock is gone the waiting call's write goes through, in order.
    assert await wait_for_turns(stuck_call.pk, 1) == ["DTMF 1"]
    await stuck.finish()
    await other.finish()


async def test_a_new_call_is_set_up_while_another_waits_on_its_row_lock():
    await sync_to_async(lambda: (get_stt(), get_tts(), silero_session()))()  # what the first call of a process loads
    stuck_call = await sync_to_async(CallFactory)(status=Call.Status.IN_PROGRESS)
    version = await sync_to_async(AgentVersionFactory)(config=CONFIG)
    new_call = await sync_to_async(CallFactory)(agent_version=version)
    stuck = session_for(stuck_call)
    await stuck.start()

    with row_locked(stuck_call.pk):
        stuck.on_dtmf("1")
        await asyncio.sleep(0)
        session = await asyncio.wait_for(  # a bound (10 s): it takes milliseconds
            build_session(call_id=new_call.pk, call_sid="", stream_sid="MZ" + "c" * 32, transport=Transport()), 10
        )
        assert session.call_id == new_call.pk

    await stuck.finish()
    await sync_to_async(new_call.refresh_from_db)()
    assert new_call.status == Call.Status.IN_PROGRESS and new_call.stream_sid == "MZ" + "c" * 32
