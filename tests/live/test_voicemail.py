"""An answering machine takes the call: the detection result reaches the live call, which leaves a message or hangs up.

The result arrives as the status webhook stores it on the call row; the
session reads it (RecordingStore.amd stands in for the row) once a second.
"""

from __future__ import annotations

from live.turn_taking import Voicemail, answered_by
from tests.live.harness import Harness

QUIET = {"reminder_after_s": 120, "reminders": []}
GREETING = "Hi, this is Sam from the clinic calling about your appointment next week, do you have a moment?"
LEAVE = {"action": "leave_message", "message": "Please call us back at five five five, one two three four."}


def test_the_result_and_the_version_decide():
    assert answered_by("", action="leave_message", message="Hi.") == (None, True)
    assert answered_by("human", action="leave_message", message="Hi.") == (None, False)
    assert answered_by("unknown", action="hang_up", message="") == (None, False)
    assert answered_by("machine_start", action="leave_message", message="Hi.") == (None, True)  # wait for the beep
    assert answered_by("machine_start", action="hang_up", message="") == (Voicemail(""), False)
    assert answered_by("machine_end_beep", action="leave_message", message="Hi.") == (Voicemail("Hi."), False)
    assert answered_by("machine_end_silence", action="hang_up", message="Hi.") == (Voicemail(""), False)
    assert answered_by("fax", action="leave_message", message="Hi.") == (Voicemail(""), False)


async def test_after_the_beep_the_agent_stops_leaves_its_message_and_hangs_up():
    h = Harness({"brain": "scripted", "greeting": GREETING, "silence": QUIET, "voicemail": LEAVE})
    await h.start()
    await h.run(1.0)
    h.store.amd = "machine_start"  # a carrier on Enable: a machine, greeting still playing
    await h.run(1.0)
    assert h.line.closed is None and h.events("clear") == []  # still waiting for the beep
    h.store.amd = "machine_end_beep"
    beep_at = h.at(h.clock.now())
    await h.run(12.0)

    [(cleared_at, _)] = h.events("clear")  # the greeting was still playing: it stops
    assert beep_at < cleared_at <= beep_at + 1.05  # read within a second of the webhook storing it
    message = LEAVE["message"]
    assert {sentence for at, sentence in h.spoken() if at > cleared_at} == {message}
    assert [turn["text"] for turn in h.turns("agent")] == [GREETING, message]
    assert h.turns("agent")[1]["heard_text"] == message  # all of it, then the hang-up
    assert h.actions.done == [("hangup", h.session.call_sid)]
    assert h.store.outcome is not None and h.store.outcome["disposition"] == "voicemail"


async def test_after_the_beep_what_the_machine_plays_gets_no_answer():
    h = Harness({"brain": "scripted", "script": ["Sorry?"], "silence": QUIET, "voicemail": LEAVE})
    await h.start()
    h.store.amd = "machine_end_beep"
    await h.run(1.2)
    await h.say("Mailbox full, goodbye", 0.8)  # the machine talks over the message
    await h.run(10.0)
    assert h.turns("caller") == [] and h.events("clear") == []
    assert [turn["text"] for turn in h.turns("agent")] == [LEAVE["message"]]


async def test_a_version_that_hangs_up_on_machines_says_nothing_more():
    h = Harness({"brain": "scripted", "greeting": GREETING, "silence": QUIET, "voicemail": {"action": "hang_up"}})
    await h.start()
    await h.run(0.5)
    h.store.amd = "machine_start"
    await h.run(3.0)

    assert h.actions.done == [("hangup", h.session.call_sid)]
    assert h.store.outcome is not None and h.store.outcome["disposition"] == "voicemail"
    [greeting] = h.turns("agent")
    assert greeting["interrupted"]
    assert max(at for at, _ in h.spoken()) <= 1.6


async def test_a_person_answering_ends_the_watch():
    h = Harness({"brain": "scripted", "greeting": GREETING, "silence": QUIET, "voicemail": LEAVE})
    await h.start()
    h.store.amd = "human"
    await h.run(5.0)
    assert h.store.amd_reads == 1 and h.actions.done == []
    assert h.turns("agent")[0]["heard_text"] == GREETING
