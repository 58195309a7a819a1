"""The call session on the harness: scripted caller and engines, virtual time, what goes out on the line.

Times are seconds since the harness started. The defaults that matter:
the speculative pause is 200 ms (SPECULATIVE_PAUSE_MS), the end of a turn
500 ms of silence, a barge-in 300 ms of talking over the agent; the fake
voice speaks 0.2 s per word, and the line plays 20 ms per frame.
"""

from __future__ import annotations

from tests.live.harness import FakeSTT, FakeTTS, Harness, ScriptBrain

QUIET = {"reminder_after_s": 120, "reminders": []}  # no reminder gets in the way
CALLER_FIRST = {"brain": "scripted", "first_speaker": "caller", "script": [], "silence": QUIET}
# The end of the turn by silence alone (tests/live/test_turn_ends.py has the transcript's say in it).
SILENCE_ONLY = {**CALLER_FIRST, "turn_taking": {"end_of_turn": "silence"}}
GREETING = "Thank you for calling the clinic. We are open from eight until six on weekdays. How can I help you today?"


def sentences_after(h: Harness, t: float) -> set[str | None]:
    return {sentence for at, sentence in h.spoken() if at > t}


async def test_a_reply_is_prepared_at_the_pause_and_plays_the_moment_the_turn_ends():
    brain = ScriptBrain(["Friday at nine works."], speculative_safe=True)
    h = Harness(SILENCE_ONLY, brain=brain, stt=FakeSTT(delay_s=0.1))
    await h.start()
    await h.run(0.5)
    await h.say("Can I come on Friday?", 1.0)
    speech_end = h.at(h.clock.now())

    await h.run(0.4)  # past the pause, short of the end of the turn
    assert [call["text"] for call in h.stt.calls] == ["Can I come on Friday?"]
    assert brain.prompts == [("Can I come on Friday?", [])]  # a speculative-safe brain ran early
    assert [call["text"] for call in h.tts.calls] == ["Friday at nine works."]
    assert h.spoken() == []  # ...and all of it is held

    await h.run(2.0)
    first_audio = h.spoken()[0][0]
    assert speech_end + 0.45 <= first_audio <= speech_end + 0.56  # out as soon as the turn is final
    assert len(h.stt.calls) == 1 and len(brain.prompts) == 1  # the commit used what was prepared
    assert h.transcript() == [("caller", "Can I come on Friday?"), ("agent", "Friday at nine works.")]
    assert h.turns("agent")[0]["heard_text"] == "Friday at nine works."


async def test_a_brain_that_is_not_speculative_safe_waits_for_the_end_of_the_turn():
    brain = ScriptBrain(["Sure."])
    h = Harness(SILENCE_ONLY, brain=brain)
    await h.start()
    await h.say("Hello", 0.6)
    await h.run(0.4)
    assert len(h.stt.calls) == 1 and brain.prompts == []
    await h.run(1.0)
    assert brain.prompts == [("Hello", [])]
    assert h.transcript() == [("caller", "Hello"), ("agent", "Sure.")]


async def test_the_caller_going_on_throws_the_prepared_reply_away():
    brain = ScriptBrain(["A reply to half a sentence.", "A reply to all of it."], speculative_safe=True)
    h = Harness(CALLER_FIRST, brain=brain, stt=FakeSTT(delay_s=0.05))
    await h.start()
    await h.say("I would like", 0.6)
    await h.run(0.3)  # paused: transcribed, answered and synthesised, all held
    assert [text for text, _ in brain.prompts] == ["I would like"]
    await h.say("I would like to book Friday", 0.6)
    await h.run(2.0)

    assert [text for text, _ in brain.prompts] == ["I would like", "I would like to book Friday"]
    assert sentences_after(h, 0) == {"A reply to all of it."}  # the stale reply never reached the line
    assert h.transcript() == [("caller", "I would like to book Friday"), ("agent", "A reply to all of it.")]


async def test_barge_in_clears_the_line_and_nothing_stale_plays_after_it():
    h = Harness({"brain": "scripted", "greeting": GREETING, "script": ["Of course, go ahead."], "silence": QUIET})
    await h.start()
    await h.run(1.5)  # the greeting is playing
    await h.say("Sorry, can I stop you there", 0.8)
    [(cleared_at, _)] = h.events("clear")
    assert 1.5 + 0.25 <= cleared_at <= 1.5 + 0.4  # 300 ms of talking over the agent (in 32 ms VAD windows)
    await h.run(3.0)

    assert sentences_after(h, cleared_at) == {"Of course, go ahead."}
    assert h.transcript() == [
        ("agent", GREETING),
        ("caller", "Sorry, can I stop you there"),
        ("agent", "Of course, go ahead."),
    ]
    greeting = h.turns("agent")[0]
    heard = greeting["heard_text"].split()
    assert greeting["interrupted"] and 0 < len(heard) < len(GREETING.split())
    assert GREETING.split()[: len(heard)] == heard
    assert h.ctx.history[0] == {"role": "assistant", "content": greeting["heard_text"]}
    assert h.session.replies.barge_ins == 1


async def test_a_backchannel_over_the_agent_is_ignored():
    h = Harness({"brain": "scripted", "greeting": GREETING, "script": ["Never said."], "silence": QUIET})
    await h.start()
    await h.run(1.0)
    await h.say("mhm", 0.2)  # shorter than a barge-in
    await h.run(6.0)

    assert h.events("clear") == []
    assert h.transcript() == [("agent", GREETING)]
    greeting = h.turns("agent")[0]
    assert not greeting["interrupted"] and greeting["heard_text"] == GREETING
    assert len(h.stt.calls) >= 1  # it was heard and transcribed, then let go
    assert h.ctx.history == [{"role": "assistant", "content": GREETING}]


async def test_silence_brings_reminders_then_a_goodbye_and_a_hang_up():
    silence = {"reminder_after_s": 2, "reminders": ["Are you still there?"], "hangup_after_reminders": 2}
    h = Harness({**CALLER_FIRST, "silence": {**silence, "hangup_message": "Goodbye for now."}})
    await h.start()
    await h.run(14.0)

    agent = h.turns("agent")
    assert [turn["text"] for turn in agent] == ["Are you still there?", "Are you still there?", "Goodbye for now."]
    starts = [
        min(t for t, sentence in h.spoken() if sentence == text)
        for text in ("Are you still there?", "Goodbye for now.")
    ]
    assert 2.0 <= starts[0] <= 2.35  # 2 s into the silence (the clock is looked at every 250 ms)
    second = min(t for t, sentence in h.spoken() if sentence == "Are you still there?" and t > h.at(agent[0]["at"]))
    assert 2.0 <= second - h.at(agent[0]["at"]) <= 2.35  # 2 s after the first was heard
    assert 2.0 <= starts[1] - h.at(agent[1]["at"]) <= 2.35
    assert h.line.closed == 1000
    assert h.actions.done == [("hangup", h.session.call_sid)]
    assert h.store.outcome is not None
    assert (h.store.outcome["disposition"], h.store.outcome["status"]) == ("no_response", "completed")


async def test_the_maximum_duration_ends_the_call_mid_sentence():
    endless = " ".join(["blah"] * 80)  # sixteen seconds of greeting
    h = Harness({"brain": "scripted", "greeting": endless, "max_duration_s": 10, "silence": QUIET})
    await h.start()
    await h.run(12.0)

    assert h.line.closed == 1000
    assert 9.9 <= max(t for t, _ in h.spoken()) <= 10.3  # cut at ten seconds (ticks every 250 ms)
    assert (h.store.outcome["disposition"], h.store.outcome["status"]) == ("max_duration", "completed")
    [greeting] = h.turns("agent")
    assert greeting["interrupted"] and 0 < len(greeting["heard_text"].split()) < 80


async def test_a_reply_spoken_over_without_barge_in_is_settled_before_the_next_prompt():
    """Issue 9, defect 1: the caller's previous turn and what they heard of the answer are in the prompt, in order."""
    long_answer = "We have Monday at nine. We also have Tuesday at ten, Wednesday at eleven and Thursday at noon."
    brain = ScriptBrain([long_answer, "Friday it is."], greeting="Hello, the clinic.")
    config = {"brain": "scripted", "turn_taking": {"interruptible": False}, "silence": QUIET}
    h = Harness(config, brain=brain)
    await h.start()
    await h.run(1.0)
    await h.say("I need an appointment", 1.0)
    await h.run(2.0)  # the long answer is playing
    await h.say("Friday please", 0.8)  # over it: no barge-in here, the end of this turn settles it
    await h.run(3.0)

    greeting, first_answer = {"role": "assistant", "content": "Hello, the clinic."}, h.turns("agent")[1]
    assert first_answer["text"] == long_answer and first_answer["interrupted"]
    heard = first_answer["heard_text"]
    assert 0 < len(heard.split()) < len(long_answer.split())
    assert brain.prompts == [
        ("I need an appointment", [greeting]),
        (
            "Friday please",
            [greeting, {"role": "user", "content": "I need an appointment"}, {"role": "assistant", "content": heard}],
        ),
    ]
    assert h.ctx.history == [
        greeting,
        {"role": "user", "content": "I need an appointment"},
        {"role": "assistant", "content": heard},
        {"role": "user", "content": "Friday please"},
        {"role": "assistant", "content": "Friday it is."},
    ]
    assert h.transcript() == [
        ("agent", "Hello, the clinic."),
        ("caller", "I need an appointment"),
        ("agent", long_answer),
        ("caller", "Friday please"),
        ("agent", "Friday it is."),
    ]


async def test_a_caller_turn_that_comes_while_the_answer_is_still_being_prepared_replaces_it():
    brain = ScriptBrain(["A slow answer.", "The answer to both."], think_s=1.5)
    h = Harness(CALLER_FIRST, brain=brain)
    await h.start()
    await h.say("I need an appointment", 1.0)
    await h.run(0.8)  # committed; the brain is still thinking
    await h.say("on Friday", 0.6)
    await h.run(3.5)

    assert sentences_after(h, 0) == {"The answer to both."}
    assert brain.prompts[1] == ("on Friday", [{"role": "user", "content": "I need an appointment"}])
    assert h.transcript() == [
        ("caller", "I need an appointment"),
        ("caller", "on Friday"),
        ("agent", "The answer to both."),
    ]


async def test_the_brain_is_closed_when_the_call_ends():
    """Issue 9, defect 2: every brain's aclose() runs at the end of the session (an LLM brain's HTTP client)."""
    brain = ScriptBrain(["Sure."])
    h = Harness(CALLER_FIRST, brain=brain)
    await h.start()
    await h.say("Hello", 0.5)
    await h.run(1.0)
    assert not brain.closed
    await h.finish()
    assert brain.closed
    assert h.store.closed


async def test_speech_reaches_the_line_as_the_engine_streams_it():
    """Issue 9, defect 3: the first chunk of a sentence plays before the engine has made the rest."""
    tts = FakeTTS(chunks=4, chunk_delay_s=0.3)  # a sentence takes 1.2 s to synthesise, in four pieces
    h = Harness(CALLER_FIRST, brain=ScriptBrain(["Let me look that up for you right away."]), tts=tts)
    await h.start()
    await h.say("Do you have anything on Monday", 1.0)
    turn_end = h.at(h.clock.now()) + 0.5
    await h.run(4.0)

    first_audio = h.spoken()[0][0]
    assert first_audio <= turn_end + 0.1 + 0.3 + 0.05  # STT, the first chunk, a frame
    assert first_audio < turn_end + 0.1 + 1.2  # long before the last chunk existed
    assert h.turns("agent")[0]["heard_text"] == "Let me look that up for you right away."


async def test_voice_speed_and_stt_language_reach_the_engines():
    """Issue 9, defect 9 (engine side): the agent's voice.speed and stt.language are passed on."""
    config = {**CALLER_FIRST, "voice": {"speed": 1.5}, "stt": {"model": "small", "language": "es"}}
    h = Harness(config, brain=ScriptBrain(["Claro que sí."]))
    await h.start()
    await h.say("Hola", 0.5)
    await h.run(2.0)

    assert [call["language"] for call in h.stt.calls] == ["es"]
    assert [call["speed"] for call in h.tts.calls] == [1.5]
    frames = [sentence for _, sentence in h.spoken()]
    assert len(frames) == round(3 * 0.2 / 1.5 / 0.02)  # three words, at 1.5 times the pace


async def test_transfer_and_digits_go_through_the_carrier_port():
    script = ["Connecting you now. [transfer:+14155550123]"]
    h = Harness({**CALLER_FIRST, "script": script})
    await h.start()
    await h.say("A human please", 0.6)
    await h.run(3.0)
    assert h.actions.done == [("transfer", h.session.call_sid, "+14155550123")]
    assert h.transcript() == [
        ("caller", "A human please"),
        ("tool", "transfer_to_human"),  # as the brain reports it
        ("agent", "Connecting you now."),  # once it has been heard
        ("system", "Transferred to +14155550123"),  # then the transfer
    ]
    assert h.ctx.disposition == "transferred"

    h = Harness({**CALLER_FIRST, "script": ["Pressing one. [dtmf:1]"]})
    await h.start()
    await h.say("Go on", 0.6)
    await h.run(3.0)
    await h.finish()
    assert h.actions.done == [("digits", h.session.call_sid, "1")]
    assert h.store.outcome["status"] == ""  # the call goes on over the stream the digits reconnect


async def test_the_voice_gets_only_speakable_text_and_the_transcript_keeps_the_brains_words():
    brain = ScriptBrain(["**Sure**, 我可以 see you 🙂 on Friday. 我可以. See you then."])
    h = Harness(CALLER_FIRST, brain=brain)
    await h.start()
    await h.run(0.5)
    await h.say("Can I come on Friday?", 1.0)
    await h.run(3.0)
    assert [call["text"] for call in h.tts.calls] == ["Sure, see you on Friday.", "See you then."]
    assert h.transcript()[-1] == ("agent", "**Sure**, 我可以 see you 🙂 on Friday. 我可以. See you then.")
    # What the caller heard skips the sentence that made no sound, and goes on after it.
    assert h.turns("agent")[-1]["heard_text"] == "**Sure**, 我可以 see you 🙂 on Friday. See you then."
