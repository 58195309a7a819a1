"""Where a turn ends and when the agent stops, on the harness (virtual clock, scripted caller and engines).

Issue 14: the words heard so far decide how long a pause ends the turn
("Tuesday." soon, "Um, I think" much later), and speech over the agent pauses
it until words say whether to cut it (real words) or let it go on (nothing,
a cough, "mhm"). Times are seconds since the harness started; the
speculative pause is 200 ms, the fake speech-to-text takes `delay_s`, the VAD
decides every 32 ms.
"""

from __future__ import annotations

from agents.brains.base import ModelExchange
from tests.live.harness import FakeSTT, Harness, ScriptBrain

QUIET = {"reminder_after_s": 120, "reminders": []}
CALLER_FIRST = {"brain": "scripted", "first_speaker": "caller", "script": [], "silence": QUIET}
GREETING = "Thank you for calling the clinic. We are open from eight until six on weekdays. How can I help you today?"


def first_audio_after(h: Harness, t: float) -> float:
    return min(at for at, sentence in h.spoken() if at > t and sentence is not None)


async def test_a_finished_sentence_ends_the_turn_after_a_short_silence():
    brain = ScriptBrain(["Tuesday at nine is free."], speculative_safe=True)
    h = Harness(CALLER_FIRST, brain=brain, stt=FakeSTT(delay_s=0.05))
    await h.start()
    await h.say("I would like Tuesday.", 1.0)
    speech_end = h.at(h.clock.now())
    await h.run(2.0)

    # 250 ms of silence, not the 500 ms fallback (plus up to one 32 ms VAD window and the 20 ms frame).
    assert speech_end + 0.25 <= first_audio_after(h, speech_end) <= speech_end + 0.32
    assert h.transcript() == [("caller", "I would like Tuesday."), ("agent", "Tuesday at nine is free.")]
    # The reply's stages start with when the turn was judged over: the 250 ms window and the VAD's step.
    (reply,) = h.turns("agent")
    assert 250 <= reply["timings"]["end_of_turn"] <= 320


async def test_a_hesitation_holds_the_turn_open_through_a_long_pause():
    """ "Um, I think" then 900 ms of thought then "Tuesday": one turn, answered once, after all of it."""
    brain = ScriptBrain(["Tuesday it is."])  # asked only at the end of a turn
    h = Harness(CALLER_FIRST, brain=brain, stt=FakeSTT(delay_s=0.1))
    await h.start()
    await h.say("Um, I think", 0.8)
    await h.run(0.9)
    assert h.spoken() == [] and h.turns() == []  # the pause did not end the turn
    await h.say("Um, I think Tuesday.", 0.6)
    speech_end = h.at(h.clock.now())
    await h.run(2.0)

    assert [text for text, _ in brain.prompts] == ["Um, I think Tuesday."]
    assert h.transcript() == [("caller", "Um, I think Tuesday."), ("agent", "Tuesday it is.")]
    assert first_audio_after(h, speech_end) <= speech_end + 0.37  # 250 ms, then the brain and the voice


async def test_an_unfinished_sentence_still_ends_after_the_longest_wait():
    brain = ScriptBrain(["Take your time."], speculative_safe=True)
    h = Harness(CALLER_FIRST, brain=brain, stt=FakeSTT(delay_s=0.1))
    await h.start()
    await h.say("Let me see, maybe on the", 0.8)
    speech_end = h.at(h.clock.now())
    await h.run(3.0)

    first = first_audio_after(h, speech_end)
    assert speech_end + 2.0 <= first <= speech_end + 2.07  # unfinished_silence_ms, 2 s by default
    assert h.transcript() == [("caller", "Let me see, maybe on the"), ("agent", "Take your time.")]


async def test_the_silence_mode_and_its_window_are_per_version_settings():
    config = {**CALLER_FIRST, "turn_taking": {"end_of_turn": "silence", "end_of_turn_silence_ms": 700}}
    brain = ScriptBrain(["Okay."], speculative_safe=True)
    h = Harness(config, brain=brain, stt=FakeSTT(delay_s=0.05))
    await h.start()
    await h.say("Um, I think", 0.8)  # the words are not asked: the silence alone decides
    speech_end = h.at(h.clock.now())
    await h.run(2.0)
    assert speech_end + 0.7 <= first_audio_after(h, speech_end) <= speech_end + 0.77


async def test_while_the_words_are_not_known_the_turn_stays_open():
    """A slow speech-to-text (a busy machine) must not let the 500 ms fallback end an open sentence."""
    brain = ScriptBrain(["Go on."])
    h = Harness(CALLER_FIRST, brain=brain, stt=FakeSTT(delay_s=0.6))
    await h.start()
    await h.say("I was wondering if", 0.8)
    await h.run(0.9)  # 900 ms: past the fallback, the words came at 800 ms and said "unfinished"
    assert h.turns() == []
    await h.say("I was wondering if you open Saturdays?", 0.6)
    await h.run(2.0)
    assert h.transcript() == [("caller", "I was wondering if you open Saturdays?"), ("agent", "Go on.")]


# ---- speech over the agent -----------------------------------------------------------------


def agent_frames_between(h: Harness, start: float, end: float) -> int:
    return sum(1 for at, sentence in h.spoken() if start < at < end and sentence is not None)


async def test_a_cough_pauses_the_agent_and_it_resumes_where_it_stopped():
    h = Harness({"brain": "scripted", "greeting": GREETING, "script": ["Never said."], "silence": QUIET})
    await h.start()
    await h.run(1.0)
    await h.say("", 0.4)  # 400 ms of noise that speech-to-text hears as nothing
    paused_from = h.at(h.clock.now()) - 0.1  # the pause came at 300 ms of the cough
    await h.run(0.15)
    assert agent_frames_between(h, paused_from + 0.02, h.at(h.clock.now())) == 0  # silent while unsure
    await h.run(0.3)  # the caller paused, the words came back empty: the agent goes on
    assert agent_frames_between(h, paused_from + 0.02, h.at(h.clock.now())) > 0
    await h.run(8.0)

    assert h.events("clear") == []  # never cut
    [greeting] = h.turns("agent")
    assert not greeting["interrupted"] and greeting["heard_text"] == GREETING
    assert h.transcript() == [("agent", GREETING)]
    assert h.session.replies.barge_ins == 0


async def test_a_backchannel_long_enough_to_pause_the_agent_lets_it_go_on():
    h = Harness({"brain": "scripted", "greeting": GREETING, "script": ["Never said."], "silence": QUIET})
    await h.start()
    await h.run(1.0)
    await h.say("Mhm.", 0.45)  # past the 300 ms minimum: the agent pauses
    await h.run(8.0)

    assert h.events("clear") == []
    assert h.transcript() == [("agent", GREETING)]  # no answer to "mhm", no "Sorry, I didn't catch that"
    assert h.turns("agent")[0]["heard_text"] == GREETING
    assert h.ctx.history == [{"role": "assistant", "content": GREETING}]


async def test_words_that_are_no_backchannel_cut_the_agent_within_300_ms_of_the_minimum_speech():
    brain = ScriptBrain(["Sure, go ahead."], greeting=GREETING)
    h = Harness({"brain": "scripted", "silence": QUIET}, brain=brain, stt=FakeSTT(delay_s=0.1))
    await h.start()
    await h.run(1.0)
    await h.say("Wait, stop.", 0.4)  # short: the words decide, not the length
    await h.run(3.0)

    [(cleared_at, _)] = h.events("clear")
    assert cleared_at <= 1.0 + 0.3 + 0.3  # minimum speech at ~1.3 s; cut on the first words
    assert {sentence for at, sentence in h.spoken() if at > cleared_at} == {"Sure, go ahead."}
    assert h.transcript()[1:] == [("caller", "Wait, stop."), ("agent", "Sure, go ahead.")]
    assert h.turns("agent")[0]["interrupted"]


async def test_speech_that_goes_on_cuts_the_agent_even_before_any_words_are_known():
    brain = ScriptBrain(["Of course."], greeting=GREETING)
    h = Harness({"brain": "scripted", "silence": QUIET}, brain=brain, stt=FakeSTT(delay_s=1.5))  # a very slow STT
    await h.start()
    await h.run(1.0)
    await h.say("Sorry, can I stop you right there please", 1.2)
    await h.run(4.0)

    [(cleared_at, _)] = h.events("clear")
    # 300 ms minimum + 200 ms of the caller still talking after the pause, in 32 ms VAD windows.
    assert 1.0 + 0.5 <= cleared_at <= 1.0 + 0.5 + 0.1
    assert {sentence for at, sentence in h.spoken() if at > cleared_at} == {"Of course."}


async def test_with_no_confirmation_the_minimum_speech_cuts_at_once():
    config = {"brain": "scripted", "silence": QUIET, "turn_taking": {"barge_in_confirm_ms": 0}}
    brain = ScriptBrain(["Yes?"], greeting=GREETING)
    h = Harness(config, brain=brain, stt=FakeSTT(delay_s=1.5))
    await h.start()
    await h.run(1.0)
    await h.say("Mhm.", 0.45)
    await h.run(0.1)
    [(cleared_at, _)] = h.events("clear")
    assert 1.0 + 0.28 <= cleared_at <= 1.0 + 0.36


class FakeSmartTurn:
    """Smart Turn's shape: a fixed probability that the utterance sounds finished."""

    def __init__(self, probability: float) -> None:
        self.value = probability
        self.heard: list[int] = []

    def probability(self, audio) -> float:
        self.heard.append(len(audio))
        return self.value


async def voiced_harness(probability: float) -> Harness:
    brain = ScriptBrain(["Nice to meet you."], speculative_safe=True)
    h = Harness(CALLER_FIRST, brain=brain, stt=FakeSTT(delay_s=0.05))
    await h.start()
    h.session.smart_turn = FakeSmartTurn(probability)  # type: ignore[assignment]
    h.session.turn_taking.expect_acoustic = True
    return h


async def test_with_smart_turn_words_that_sound_finished_must_also_sound_finished():
    """Whisper drops the "uh" of "My name is, uh": the words look finished, the voice does not."""
    h = await voiced_harness(0.2)
    await h.say("My name is", 0.8)
    speech_end = h.at(h.clock.now())
    await h.run(3.0)
    assert h.session.smart_turn.heard
    assert speech_end + 2.0 <= first_audio_after(h, speech_end) <= speech_end + 2.07


async def test_with_smart_turn_agreeing_the_turn_ends_soon():
    h = await voiced_harness(0.9)
    await h.say("My name is Jordan.", 0.8)
    speech_end = h.at(h.clock.now())
    await h.run(2.0)
    assert speech_end + 0.25 <= first_audio_after(h, speech_end) <= speech_end + 0.32


class CountingBrain(ScriptBrain):
    """Reports one model request per reply, with the server's token counts, as the LLM brain does."""

    async def reply(self, ctx, caller_text):
        ctx.on_model_exchange(
            ModelExchange(
                messages=[], tools=[], reply="", tool_calls=[], usage={"prompt_tokens": 30, "completion_tokens": 5}
            )
        )
        async for output in super().reply(ctx, caller_text):
            yield output


async def test_each_reply_stores_the_token_counts_of_the_requests_made_for_it():
    brain = CountingBrain(["Tuesday at nine is free.", "See you then."], speculative_safe=True)
    h = Harness(CALLER_FIRST, brain=brain, stt=FakeSTT(delay_s=0.05))
    await h.start()
    await h.say("I would like Tuesday.", 1.0)
    await h.run(2.0)
    await h.say("Great, thanks.", 0.8)
    await h.run(2.0)

    replies = h.turns("agent")
    assert [reply["text"] for reply in replies] == ["Tuesday at nine is free.", "See you then."]
    assert [reply["data"]["usage"] for reply in replies] == [{"prompt_tokens": 30, "completion_tokens": 5}] * 2


async def test_tokens_of_a_discarded_speculation_are_billed_on_the_next_reply():
    """The caller went on after a pause: the held reply is thrown away, but its model request was paid for."""
    brain = CountingBrain(["A reply to half a sentence.", "A reply to all of it."], speculative_safe=True)
    h = Harness(CALLER_FIRST, brain=brain, stt=FakeSTT(delay_s=0.05))
    await h.start()
    await h.say("I would like", 0.6)
    await h.run(0.3)  # paused: answered early and held
    await h.say("I would like to book Friday", 0.6)
    await h.run(2.0)

    [reply] = h.turns("agent")
    assert reply["text"] == "A reply to all of it."
    assert reply["data"]["usage"] == {"prompt_tokens": 60, "completion_tokens": 10}  # both requests
