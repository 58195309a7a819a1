"""A caller who goes on before hearing the answer had not finished: one turn, answered once.

The bench_voice outliers (issue 14: 2-3 turns in 17 waited about 8.5 s at the
caller while the server's stages stayed under 520 ms): Piper pauses 300-450 ms
at the comma of "Yes, that is correct.", Whisper hears the first part as
"Yes.", which sounds finished, so the turn ended 250 ms into the comma. The
caller then went on; the answer to "Yes." was cut or talked over, the rest of
the sentence became a turn of its own, the scripted agent spent two script
lines on one caller line and ran out of lines, and the only thing the caller
heard next was the silence reminder 8 s later.

On the harness: virtual clock, scripted VAD, the fake speech-to-text returns
the text of the caller's latest `say` (the whole sentence so far), the fake
voice speaks 0.2 s per word after `chunk_delay_s`.
"""

from __future__ import annotations

from tests.live.harness import FakeSTT, FakeTTS, Harness, ScriptBrain

QUIET = {"reminder_after_s": 120, "reminders": []}
CALLER_FIRST = {"brain": "scripted", "first_speaker": "caller", "script": [], "silence": QUIET}


async def test_a_caller_who_goes_on_before_the_answer_is_heard_gets_one_answer_to_the_whole_sentence():
    # The scripted brain, as bench_voice runs it: speculative-safe, its place in the script read from the history.
    config = {**CALLER_FIRST, "script": ["Great, you are booked.", "Anything else?"]}
    # The voice takes 0.3 s to start: the caller goes on before any of the answer is on the line.
    h = Harness(config, stt=FakeSTT(delay_s=0.1), tts=FakeTTS(chunk_delay_s=0.3))
    await h.start()
    await h.say("Yes please.", 0.5)  # "Yes, please," as Whisper hears it: a finished sentence
    await h.run(0.4)  # the comma: words back at 0.3 s, the 250 ms window has passed: the turn ends
    assert h.session.replies.open and h.session.replies.open[-1].committed.is_set()
    assert h.spoken() == []  # ...but nothing of the answer has played yet
    await h.say("Yes please. That is correct.", 0.8)
    speech_end = h.at(h.clock.now())
    await h.run(3.0)

    assert h.transcript() == [("caller", "Yes please. That is correct."), ("agent", "Great, you are booked.")]
    assert {sentence for _, sentence in h.spoken()} == {"Great, you are booked."}
    assert h.events("clear") == []  # nothing was cut: nothing had played
    # Speech-to-text heard all of it, the first part included (0.5 + 0.4 + 0.8 s at 16 kHz).
    assert h.stt.calls[-1]["samples"] >= 16000 * 1.6
    assert h.ctx.history == [
        {"role": "user", "content": "Yes please. That is correct."},
        {"role": "assistant", "content": "Great, you are booked."},
    ]
    first_audio = min(at for at, sentence in h.spoken() if sentence is not None)
    assert first_audio <= speech_end + 1.0  # answered after the whole turn, not after a reminder


async def test_a_noise_after_the_end_of_the_turn_does_not_take_the_answer_back():
    brain = ScriptBrain(["Great, you are booked."], speculative_safe=True)
    h = Harness(CALLER_FIRST, brain=brain, stt=FakeSTT(delay_s=0.1), tts=FakeTTS(chunk_delay_s=0.3))
    await h.start()
    await h.say("Yes, that is correct.", 1.0)
    await h.run(0.4)  # the turn is over, the answer is still being voiced
    h.vad.speaking = True  # a click on the line: one VAD window, shorter than any speech the detector keeps
    await h.run(0.04)
    h.vad.speaking = False
    await h.run(3.0)

    assert h.transcript() == [("caller", "Yes, that is correct."), ("agent", "Great, you are booked.")]


async def test_speech_after_the_answer_is_audible_is_talking_over_the_agent_not_more_of_the_turn():
    brain = ScriptBrain(["Great, you are booked for Tuesday at nine.", "Sure."], speculative_safe=True)
    h = Harness(CALLER_FIRST, brain=brain, stt=FakeSTT(delay_s=0.1), tts=FakeTTS(chunk_delay_s=0.05))
    await h.start()
    await h.say("Yes, that is correct.", 1.0)
    await h.run(0.8)  # the answer is playing
    assert h.spoken()
    await h.say("Sorry, one more thing", 0.8)
    await h.run(3.0)

    assert len(h.events("clear")) == 1  # a barge-in, as before
    assert [text for text, _ in brain.prompts] == ["Yes, that is correct.", "Sorry, one more thing"]


async def test_an_answer_already_settled_is_not_taken_back():
    """A brain that is not speculative-safe (a flow moves on, an LLM may have run a tool) was asked at the
    end of the turn: the caller going on is a new turn, as before."""
    brain = ScriptBrain(["Great, you are booked.", "Anything else?"])
    h = Harness(CALLER_FIRST, brain=brain, stt=FakeSTT(delay_s=0.1), tts=FakeTTS(chunk_delay_s=0.3))
    await h.start()
    await h.say("Yes please.", 0.5)
    await h.run(0.4)
    assert [text for text, _ in brain.prompts] == ["Yes please."]
    await h.say("That is correct.", 0.8)
    await h.run(3.0)

    assert [text for text, _ in brain.prompts] == ["Yes please.", "That is correct."]
    assert [speaker for speaker, _ in h.transcript()].count("caller") == 2
