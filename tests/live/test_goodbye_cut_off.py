"""A goodbye the caller cuts off still ends the call with its outcome.

The engine cancels a reply the caller speaks over, and with it the call
action after its words: the brain repeats its hang-up to the caller's next
turn (the flow and scripted brains do), and the outcome the goodbye carried
is kept even when the caller hangs up in the middle of it. A CI run found
both missing: "That works, thank you." split at its comma, the agent's
"Goodbye! [hangup:booked]" was cut by "thank you", and the call stayed open
until the caller hung up, with no disposition.
"""

from __future__ import annotations

from tests.live.harness import Harness

QUIET = {"reminder_after_s": 120, "reminders": []}
CONFIG = {
    "brain": "scripted",
    "first_speaker": "caller",
    "script": ["Thank you for calling the clinic today. Goodbye! [hangup:booked]"],
    "silence": QUIET,
    "turn_taking": {"end_of_turn": "silence", "barge_in_confirm_ms": 0},
}


async def test_a_caller_who_speaks_over_the_goodbye_is_heard_and_then_the_call_ends_booked():
    h = Harness(CONFIG)
    await h.start()
    await h.say("That works", 0.6)
    await h.run(1.0)  # the turn ended and the goodbye is playing
    assert h.spoken(), "the goodbye started"
    await h.say("thank you so much", 0.8)  # over it: a barge-in
    assert h.events("clear")
    await h.run(3.0)

    goodbye = h.turns("agent")[0]
    assert goodbye["interrupted"] and goodbye["heard_text"] != goodbye["text"]
    assert [text for speaker, text in h.transcript() if speaker == "caller"] == ["That works", "thank you so much"]
    assert h.actions.done == [("hangup", h.session.call_sid)]  # the agent hung up after hearing them out
    assert h.line.closed == 1000
    assert h.store.outcome is not None
    assert (h.store.outcome["disposition"], h.store.outcome["status"]) == ("booked", "completed")


async def test_a_caller_who_hangs_up_during_the_goodbye_leaves_its_outcome():
    h = Harness(CONFIG)
    await h.start()
    await h.say("That works", 0.6)
    await h.run(1.0)
    assert h.spoken() and h.actions.done == []  # the goodbye is playing
    await h.finish()  # the caller hung up (the stream stopped)

    goodbye = h.turns("agent")[0]
    assert goodbye["interrupted"]
    assert h.actions.done == []
    assert h.store.outcome is not None and h.store.outcome["disposition"] == "booked"


async def test_a_reply_without_a_hang_up_cut_off_leaves_no_outcome():
    config = {**CONFIG, "script": ["Let me tell you all about our opening hours this week."]}
    h = Harness(config)
    await h.start()
    await h.say("When are you open", 0.6)
    await h.run(1.0)
    await h.finish()

    assert h.turns("agent")[0]["interrupted"]
    assert h.store.outcome is not None and h.store.outcome["disposition"] == ""
