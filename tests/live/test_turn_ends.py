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
from live.speech.base import Transcript
from tests.live.harness import FakeSmartTurn, FakeSTT, Harness, ScriptBrain

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


async def test_an_ending_tiny_en_makes_of_an_open_one_waits_halfway():
    """ "Could we do it on the" heard as "could we do it on that.": not the short window, not the whole hold."""
    brain = ScriptBrain(["Which day?"], speculative_safe=True)
    h = Harness(CALLER_FIRST, brain=brain, stt=FakeSTT(delay_s=0.1))
    await h.start()
    await h.say("could we do it on that.", 0.8)
    speech_end = h.at(h.clock.now())
    await h.run(0.9)
    assert h.spoken() == []  # a 900 ms pause does not end it (the short window would have)
    await h.run(1.0)

    first = first_audio_after(h, speech_end)
    assert speech_end + 1.125 <= first <= speech_end + 1.125 + 0.07  # halfway between 250 ms and 2 s


async def test_a_single_word_then_a_comma_pause_is_one_turn():
    """ "Yes, that is correct." with Piper's ~300 ms pause at the comma; tiny.en hears "Yes." (issue 14's tails)."""
    brain = ScriptBrain(["Great, see you then."])  # asked only at the end of a turn
    h = Harness(CALLER_FIRST, brain=brain, stt=FakeSTT(delay_s=0.05))
    await h.start()
    await h.say("Yes.", 0.35)
    await h.run(0.35)  # the comma: longer than the 250 ms a finished sentence waits
    assert h.spoken() == []
    await h.say("Yes, that is correct.", 0.9)
    await h.run(4.0)

    assert [text for text, _ in brain.prompts] == ["Yes, that is correct."]
    assert h.transcript() == [("caller", "Yes, that is correct."), ("agent", "Great, see you then.")]


async def test_a_single_finished_word_ends_the_turn_after_the_plain_silence():
    """The cost of the above: a "Yes." that is the whole turn waits 500 ms, not 250 ms."""
    brain = ScriptBrain(["Great."], speculative_safe=True)
    h = Harness(CALLER_FIRST, brain=brain, stt=FakeSTT(delay_s=0.05))
    await h.start()
    await h.say("Yes.", 0.35)
    speech_end = h.at(h.clock.now())
    await h.run(2.0)
    assert speech_end + 0.5 <= first_audio_after(h, speech_end) <= speech_end + 0.57
    assert h.transcript() == [("caller", "Yes."), ("agent", "Great.")]


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


async def test_a_backchannel_heard_as_unsure_words_lets_the_agent_go_on_unanswered():
    """tiny.en heard a noisy "Mhm." as "and make them." (confidence 0.45): the agent resumes, nothing answers it."""
    h = Harness({"brain": "scripted", "greeting": GREETING, "script": ["Never said."], "silence": QUIET})
    await h.start()
    await h.run(1.0)
    h.stt.heard, h.vad.speaking = "Mm-hmm.", True  # the early check, on the first 300 ms
    await h.run(0.35)
    h.stt.heard = Transcript("and make them.", confidence=0.45)  # the whole overlap, at the caller's pause
    await h.run(0.1)
    h.vad.speaking = False
    await h.run(8.0)

    assert h.events("clear") == []
    assert h.transcript() == [("agent", GREETING)]


async def test_a_backchannel_longer_than_the_confirmation_still_lets_the_agent_go_on():
    """ "Yeah, yeah." talks on past the pause's 200 ms confirmation: its words, not its length, decide."""
    h = Harness({"brain": "scripted", "greeting": GREETING, "script": ["Never said."], "silence": QUIET})
    await h.start()
    await h.run(1.0)
    await h.say("Yeah, yeah.", 0.9)
    await h.run(8.0)

    assert h.events("clear") == []
    assert h.transcript() == [("agent", GREETING)]
    assert h.turns("agent")[0]["heard_text"] == GREETING


async def test_decodes_of_speech_over_the_agent_are_prompted_with_the_backchannel_words():
    h = Harness({"brain": "scripted", "greeting": GREETING, "script": ["Sure."], "silence": QUIET})
    await h.start()
    await h.run(1.0)
    await h.say("Mhm.", 0.45)
    await h.run(8.0)  # the greeting goes on to its end
    overlap_decodes = len(h.stt.calls)
    await h.say("What time do you open?", 0.8)
    await h.run(2.0)

    backchannels = "Mm-hmm. Uh-huh. Yeah. Yes. Okay. Ok. Right. Sure. I see. Oh."
    prompts = [call["prompt"] for call in h.stt.calls]
    quick = [call["quick"] for call in h.stt.calls]
    # The early check on the first 300 ms, two longer looks as the hum went on (each once two VAD
    # windows more were said), the whole overlap at its pause.
    assert overlap_decodes == 4
    assert prompts[:overlap_decodes] == [backchannels] * 4
    assert prompts[overlap_decodes:] == [""]  # the caller's own turn is decoded as it is
    # The looks are one quick decode each; the whole overlap and the caller's turn are decoded in full.
    assert quick == [True, True, True, False, False]


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
    # 300 ms minimum + 200 ms of the caller still talking after the pause (barge_in_confirm_ms; the
    # words are not waited for), in 32 ms VAD windows: within 300 ms of the minimum.
    assert 1.0 + 0.5 <= cleared_at <= 1.0 + 0.3 + 0.3
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


# ---- Smart Turn beside the words (the "smart" end of turn, a version's choice) -------------------

CALLER_FIRST_SMART = {**CALLER_FIRST, "turn_taking": {"end_of_turn": "smart"}}


def voiced_harness(smart_turn: FakeSmartTurn, config: dict | None = None) -> Harness:
    brain = ScriptBrain(["Nice to meet you."], speculative_safe=True)
    return Harness(config or CALLER_FIRST_SMART, brain=brain, stt=FakeSTT(delay_s=0.05), smart_turn=smart_turn)


async def ends_after(h: Harness, said: str) -> float:
    """Seconds from the end of the caller's `said` to the agent's first audio."""
    await h.start()
    await h.say(said, 0.8)
    speech_end = h.at(h.clock.now())
    await h.run(3.0)
    return round(first_audio_after(h, speech_end) - speech_end, 3)


async def test_words_and_voice_both_finished_end_the_turn_soon():
    voice = FakeSmartTurn(0.9)
    h = voiced_harness(voice)
    assert 0.25 <= await ends_after(h, "My name is Jordan.") <= 0.32
    assert voice.heard  # asked at the pause, about the utterance so far


async def test_words_and_voice_both_unfinished_hold_the_turn_longest():
    h = voiced_harness(FakeSmartTurn(0.1))
    assert 2.0 <= await ends_after(h, "Um, I think") <= 2.07


async def test_a_finished_sentence_in_an_unfinished_voice_waits_halfway():
    """tiny.en drops the "uh" of "My name is Jordan, uh": the words look finished, the voice is not."""
    h = voiced_harness(FakeSmartTurn(0.2))
    assert 1.125 <= await ends_after(h, "My name is Jordan") <= 1.125 + 0.07


async def test_the_voice_runs_beside_the_words_and_the_slower_one_sets_the_pace():
    h = voiced_harness(FakeSmartTurn(0.9, delay_s=0.4))  # slower than the 50 ms speech-to-text
    # The pause at 200 ms, the voice 400 ms later: the 250 ms window has long passed, so the turn ends then.
    assert 0.6 <= await ends_after(h, "My name is Jordan.") <= 0.6 + 0.07


async def test_a_failing_voice_model_leaves_the_words_in_charge():
    h = voiced_harness(FakeSmartTurn(0.0, fails=True))
    assert 0.25 <= await ends_after(h, "My name is Jordan.") <= 0.32


async def test_a_version_on_the_words_alone_never_asks_the_voice():
    voice = FakeSmartTurn(0.0)
    h = voiced_harness(voice, CALLER_FIRST)  # the default: the words alone
    assert 0.25 <= await ends_after(h, "My name is Jordan.") <= 0.32
    assert voice.heard == []


async def test_the_old_transcript_mode_is_the_smart_one():
    voice = FakeSmartTurn(0.1)
    h = voiced_harness(voice, {**CALLER_FIRST, "turn_taking": {"end_of_turn": "transcript"}})
    assert 2.0 <= await ends_after(h, "Um, I think") <= 2.07
    assert voice.heard


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


async def test_a_quick_stop_under_the_minimum_speech_still_cuts_the_agent():
    """ "Stop." in 250 ms never pauses the agent (the minimum is 300 ms); its words at the pause cut it."""
    brain = ScriptBrain(["Okay, I'll stop."], greeting=GREETING)
    h = Harness({"brain": "scripted", "silence": QUIET}, brain=brain, stt=FakeSTT(delay_s=0.1))
    await h.start()
    await h.run(1.0)
    await h.say("Stop.", 0.25)
    await h.run(3.0)

    [(cleared_at, _)] = h.events("clear")
    assert cleared_at <= 1.0 + 0.25 + 0.2 + 0.1 + 0.1  # the speech, the 200 ms pause, the words, a tick
    assert {sentence for at, sentence in h.spoken() if at > cleared_at} == {"Okay, I'll stop."}
    assert h.turns("agent")[0]["interrupted"]


async def test_a_quick_backchannel_under_the_minimum_speech_leaves_the_agent_talking():
    brain = ScriptBrain(["Sure."], greeting=GREETING)
    h = Harness({"brain": "scripted", "silence": QUIET}, brain=brain, stt=FakeSTT(delay_s=0.1))
    await h.start()
    await h.run(1.0)
    await h.say("Yeah.", 0.25)
    await h.run(3.0)

    assert h.events("clear") == []
