"""Turn taking's decisions on their own: speech events and clock values in, the list of decisions out."""

from __future__ import annotations

import numpy as np

from agents.brains.config import SilenceSettings
from live.pipeline.frames import UserSpeaking, UserSpeechPaused, UserSpeechResumed, UserSpeechStarted, UserTurnEnded
from live.speech.base import Transcript
from live.turn_taking import (
    BargeIn,
    CheckOverlap,
    Commit,
    Discard,
    EndOfTurn,
    GiveUp,
    MaxDuration,
    PauseAgent,
    Remind,
    ResumeAgent,
    Speculate,
    TurnTaking,
    TurnWindow,
)

AUDIO = np.zeros(1600, dtype=np.float32)
T0 = 100.0


def machine(**changes) -> TurnTaking:
    args = {
        "started_at": T0,
        "max_duration_s": 600,
        "silence": SilenceSettings(reminder_after_s=8, reminders=["Still there?"], hangup_after_reminders=2),
        "barge_in_min_ms": 300,
        "interruptible": True,
    }
    return TurnTaking(**{**args, **changes})


def kinds(decisions) -> list[str]:
    return [type(d).__name__ for d in decisions]


def hear(tt: TurnTaking, event, *, at_ms: float, agent_audible: bool = False):
    """The event at stream time `at_ms`, the stream having started at T0."""
    return tt.hear(event, now=T0 + at_ms / 1000, stream_ms=at_ms, agent_audible=agent_audible)


def test_a_pause_speculates_and_the_end_of_the_turn_commits_with_the_time_speech_ended():
    tt = machine()
    assert hear(tt, UserSpeechStarted(1000), at_ms=1032) == []
    assert hear(tt, UserSpeaking(640, 1640), at_ms=1640) == []
    [speculate] = hear(tt, UserSpeechPaused(AUDIO, 1640, 640), at_ms=1856)
    assert isinstance(speculate, Speculate)
    assert speculate.speech_end_at == T0 + 1.640 and not speculate.overlapped_agent
    [commit] = hear(tt, UserTurnEnded(AUDIO, 1640, 640), at_ms=2144)
    assert isinstance(commit, Commit) and commit.speech_end_at == T0 + 1.640


def test_the_caller_going_on_discards_the_speculation_once():
    tt = machine()
    hear(tt, UserSpeechStarted(0), at_ms=32)
    assert kinds(hear(tt, UserSpeechPaused(AUDIO, 320, 320), at_ms=544)) == ["Speculate"]
    assert hear(tt, UserSpeechResumed(576), at_ms=576) == [Discard("caller resumed")]
    assert hear(tt, UserSpeechResumed(608), at_ms=608) == []  # nothing held any more
    assert kinds(hear(tt, UserSpeechPaused(AUDIO, 900, 600), at_ms=1120)) == ["Speculate"]
    assert kinds(hear(tt, UserTurnEnded(AUDIO, 900, 600), at_ms=1408)) == ["Commit"]
    assert hear(tt, UserSpeechResumed(2000), at_ms=2000) == []  # a committed reply is not discarded


def test_a_second_pause_replaces_the_first_speculation():
    tt = machine()
    hear(tt, UserSpeechPaused(AUDIO, 320, 320), at_ms=544)
    assert kinds(hear(tt, UserSpeechPaused(AUDIO, 900, 600), at_ms=1120)) == ["Discard", "Speculate"]


def test_barge_in_needs_the_agent_audible_for_the_minimum_overlap():
    tt = machine()
    hear(tt, UserSpeechStarted(0), at_ms=32)
    assert hear(tt, UserSpeaking(400, 400), at_ms=400) == []  # the agent is silent: the caller's own turn
    assert hear(tt, UserSpeaking(448, 448), at_ms=448, agent_audible=True) == []  # overlap starts here
    assert hear(tt, UserSpeaking(704, 704), at_ms=704, agent_audible=True) == []  # 256 ms over the agent
    [barge_in] = hear(tt, UserSpeaking(768, 768), at_ms=768, agent_audible=True)
    assert barge_in == BargeIn(at=T0 + 0.768, speech_ms=320)
    assert hear(tt, UserSpeaking(800, 800), at_ms=800, agent_audible=True) == []  # once per utterance


def test_an_overlap_short_of_a_barge_in_is_flagged_on_the_reply():
    tt = machine()
    hear(tt, UserSpeechStarted(0), at_ms=32, agent_audible=True)
    hear(tt, UserSpeaking(160, 160), at_ms=160, agent_audible=True)
    [speculate] = hear(tt, UserSpeechPaused(AUDIO, 160, 160), at_ms=384, agent_audible=True)
    assert speculate.overlapped_agent
    [commit] = hear(tt, UserTurnEnded(AUDIO, 160, 160), at_ms=672, agent_audible=True)
    assert commit.overlapped_agent


def test_no_barge_in_when_the_agent_is_not_interruptible():
    tt = machine(interruptible=False)
    hear(tt, UserSpeechStarted(0), at_ms=32, agent_audible=True)
    assert hear(tt, UserSpeaking(2000, 2000), at_ms=2000, agent_audible=True) == []
    [commit] = hear(tt, UserTurnEnded(AUDIO, 2000, 2000), at_ms=2500, agent_audible=True)
    assert commit.overlapped_agent


def tick(tt: TurnTaking, at_s: float, *, caller_speaking=False, replying=False, agent_audible=False):
    return tt.tick(T0 + at_s, caller_speaking=caller_speaking, replying=replying, agent_audible=agent_audible)


def test_silence_brings_reminders_then_a_goodbye():
    tt = machine()
    assert tick(tt, 7.9) == []
    assert tick(tt, 8.0) == [Remind("Still there?")]
    assert tick(tt, 15.9) == []  # the silence is counted again from the reminder
    assert tick(tt, 16.0) == [Remind("Still there?")]
    assert tick(tt, 24.0) == [GiveUp("I'll let you go for now. Goodbye!", "no_response")]


def test_no_reminder_while_anyone_is_talking_or_a_reply_is_on_its_way():
    tt = machine()
    assert tick(tt, 9, caller_speaking=True) == []
    assert tick(tt, 9, replying=True) == []
    assert tick(tt, 9, agent_audible=True) == []
    tt.activity(T0 + 9)  # the agent finished a turn (or a key was pressed)
    assert tick(tt, 16.9) == []
    assert kinds(tick(tt, 17)) == ["Remind"]


def test_a_caller_turn_resets_the_reminders():
    tt = machine()
    tick(tt, 8)
    tick(tt, 16)
    hear(tt, UserTurnEnded(AUDIO, 16500, 400), at_ms=17000)
    assert kinds(tick(tt, 25)) == ["Remind"]  # not the goodbye: the count starts over


def test_no_reminders_configured_means_the_goodbye_comes_first():
    tt = machine(silence=SilenceSettings(reminder_after_s=5, reminders=[]))
    assert kinds(tick(tt, 5)) == ["GiveUp"]


def test_the_maximum_duration_ends_the_call_whatever_is_happening_once():
    tt = machine(max_duration_s=60)
    assert tick(tt, 59.9, caller_speaking=True, replying=True, agent_audible=True) == []
    assert tick(tt, 60, caller_speaking=True, replying=True, agent_audible=True) == [MaxDuration()]
    assert tick(tt, 61) == []


# ---- issue 14: the words decide the end of the turn; speech over the agent pauses it first ----


def words_machine(**changes) -> TurnTaking:
    defaults = {
        "end_of_turn": EndOfTurn(mode="words", silence_ms=500, finished_ms=250, unfinished_ms=2000),
        "barge_in_confirm_ms": 250,
        "backchannel_words": ["mhm", "yeah", "right", "okay"],
    }
    return machine(**{**defaults, **changes})


def test_a_pause_holds_the_turn_open_until_the_words_are_known():
    tt = words_machine()
    hear(tt, UserSpeechStarted(0), at_ms=32)
    speculate, window = hear(tt, UserSpeechPaused(AUDIO, 640, 640), at_ms=864)
    assert isinstance(speculate, Speculate) and window == TurnWindow(2000, "waiting for the words")


def test_finished_words_end_the_turn_soon_unfinished_ones_late_and_no_words_at_the_fallback():
    for text, ms in [("Tuesday at nine.", 250), ("Um, I think", 2000), ("I'd like to book a", 2000), ("", 500)]:
        tt = words_machine()
        hear(tt, UserSpeechPaused(AUDIO, 640, 640), at_ms=864)
        [window] = tt.words(text, now=T0 + 1)
        assert window.ms == ms, text


def test_finished_words_whisper_was_unsure_would_end_a_sentence_wait_halfway():
    """tiny.en heard "My name is, uh" as "My name is up." but put its full stop there with little certainty."""
    for sentence_end, ms in [(0.35, 1125), (0.9, 250), (None, 250)]:
        tt = words_machine()
        hear(tt, UserSpeechPaused(AUDIO, 640, 640), at_ms=864)
        [window] = tt.words(Transcript("My name is up.", 0.6, sentence_end), now=T0 + 1)
        assert window.ms == ms, sentence_end
    # An open sentence stays open however sure the full stop: the words already say so.
    tt = words_machine()
    hear(tt, UserSpeechPaused(AUDIO, 640, 640), at_ms=864)
    assert tt.words(Transcript("Um, I think.", 0.6, 0.2), now=T0 + 1) == [TurnWindow(2000, "sounds unfinished")]


def test_with_the_voice_unsure_finished_words_count_as_unfinished():
    tt = smart_machine()
    tt.words(Transcript("My name is up.", 0.6, 0.35), now=T0 + 1)
    assert tt.acoustic(0.9) == [TurnWindow(1125, "the words may not be finished")]
    tt = smart_machine()
    tt.words(Transcript("My name is up.", 0.6, 0.35), now=T0 + 1)
    assert tt.acoustic(0.1) == [TurnWindow(2000, "words and voice sound unfinished")]


def test_words_after_the_turn_is_over_change_nothing():
    tt = words_machine()
    hear(tt, UserSpeechPaused(AUDIO, 640, 640), at_ms=864)
    hear(tt, UserTurnEnded(AUDIO, 640, 640), at_ms=2700)
    assert tt.words("Tuesday.", now=T0 + 3) == []


def test_the_silence_mode_never_moves_the_window():
    tt = words_machine(end_of_turn=EndOfTurn(mode="silence"))
    assert kinds(hear(tt, UserSpeechPaused(AUDIO, 640, 640), at_ms=864)) == ["Speculate"]
    assert tt.words("Um, I think", now=T0 + 1) == []


def overlap(tt: TurnTaking, speech_ms: float) -> list:
    """The caller talking over the audible agent, from stream time 1000 ms, for `speech_ms`."""
    out = hear(tt, UserSpeechStarted(1000), at_ms=1032, agent_audible=True)
    for ms in range(32, int(speech_ms) + 1, 32):
        out += hear(tt, UserSpeaking(ms, 1000 + ms), at_ms=1000 + ms, agent_audible=True)
    return out


def test_speech_over_the_agent_pauses_it_at_the_minimum():
    tt = words_machine()
    assert overlap(tt, 288) == []
    [pause] = hear(tt, UserSpeaking(320, 1320), at_ms=1320, agent_audible=True)
    assert pause == PauseAgent(at=T0 + 1.32)


def test_real_words_cut_the_paused_agent_at_once():
    tt = words_machine()
    overlap(tt, 320)
    [cut] = tt.overlap_words("Wait, stop.", now=T0 + 1.45, final=False)
    assert cut == BargeIn(at=T0 + 1.45, speech_ms=320)
    assert tt.overlap_words("Wait, stop.", now=T0 + 1.5, final=True) == []  # once


def test_a_backchannel_or_no_words_resumes_the_agent_once_the_caller_paused():
    for text, why in [
        ("Mhm.", "backchannel"),
        ("yeah, right", "backchannel"),
        ("", "no words"),
        ("Um.", "backchannel"),
    ]:
        tt = words_machine()
        overlap(tt, 320)
        assert tt.overlap_words(text, now=T0 + 1.4, final=False) == []  # early: it only means "not yet"
        [speculate, _] = hear(tt, UserSpeechPaused(AUDIO, 1320, 320), at_ms=1550, agent_audible=True)
        assert speculate.overlapped_agent  # its reply job will let it go rather than answer it
        [resume, _window] = tt.words(text, now=T0 + 1.65)
        assert resume == ResumeAgent(at=T0 + 1.65, why=why), text


def test_speech_that_goes_on_cuts_the_paused_agent_under_300_ms_after_the_pause_if_the_words_are_late():
    tt = words_machine()
    overlap(tt, 320)
    assert hear(tt, UserSpeaking(544, 1544), at_ms=1544, agent_audible=True) == []  # 224 ms past the pause
    [cut] = hear(tt, UserSpeaking(576, 1576), at_ms=1576, agent_audible=True)  # past the 250 ms confirmation
    assert isinstance(cut, BargeIn)  # the early words are still out: not waited for
    [speculate, _] = hear(tt, UserSpeechPaused(AUDIO, 1800, 800), at_ms=2024, agent_audible=False)
    assert not speculate.overlapped_agent  # a real turn: it gets an answer


def test_a_paused_agent_with_no_verdict_resumes_after_a_while():
    tt = words_machine()
    overlap(tt, 320)
    hear(tt, UserSpeechPaused(AUDIO, 1320, 320), at_ms=1550, agent_audible=True)
    assert tick(tt, 1.55 + 1.4, agent_audible=True) == []
    assert tick(tt, 1.55 + 1.5, agent_audible=True) == [ResumeAgent(at=T0 + 3.05, why="no verdict on the overlap")]


def test_no_confirmation_cuts_at_the_minimum_speech():
    tt = words_machine(barge_in_confirm_ms=0)
    overlap(tt, 288)
    [cut] = hear(tt, UserSpeaking(320, 1320), at_ms=1320, agent_audible=True)
    assert cut == BargeIn(at=T0 + 1.32, speech_ms=320)


def smart_machine() -> TurnTaking:
    tt = words_machine(end_of_turn=EndOfTurn(mode="smart", silence_ms=500, finished_ms=250, unfinished_ms=2000))
    tt.expect_acoustic = True
    hear(tt, UserSpeechPaused(AUDIO, 640, 640), at_ms=864)
    return tt


def test_with_the_voice_expected_the_window_waits_for_both_words_and_voice_in_either_order():
    tt = smart_machine()
    assert tt.words("My name is Jordan.", now=T0 + 1) == []  # the voice is still out: held open
    assert tt.acoustic(0.9) == [TurnWindow(250, "words and voice sound finished")]
    tt = smart_machine()
    assert tt.acoustic(0.9) == []  # the words are still out
    assert tt.words("My name is Jordan.", now=T0 + 1) == [TurnWindow(250, "words and voice sound finished")]


def test_words_and_voice_both_unfinished_hold_the_turn_longest():
    tt = smart_machine()
    tt.words("Um, I think", now=T0 + 1)
    assert tt.acoustic(0.1) == [TurnWindow(2000, "the words sound unfinished")]
    tt = smart_machine()
    tt.words("could we do it on that.", now=T0 + 1)  # unsure words, an unfinished voice
    assert tt.acoustic(0.1) == [TurnWindow(2000, "words and voice sound unfinished")]


def test_finished_words_and_an_unfinished_voice_end_the_turn_halfway_between():
    # tiny.en drops the "uh" of "My name is, uh ...": the voice still hears the hesitation.
    tt = smart_machine()
    tt.words("My name is Jordan", now=T0 + 1)
    assert tt.acoustic(0.2) == [TurnWindow(1125, "the voice sounds unfinished")]
    # "on that." is often a misheard "on the": unsure words beside a finished voice, halfway too.
    tt = smart_machine()
    tt.words("could we do it on that.", now=T0 + 1)
    assert tt.acoustic(0.95) == [TurnWindow(1125, "the words may not be finished")]


def test_words_that_leave_the_sentence_open_hold_the_turn_whatever_the_voice_says():
    """Smart Turn calls "Tuesday or" finished (0.99), and espeak-ng's "Could we do it on the" (0.94)."""
    for text in ("Tuesday or", "Could we do it on the?", "Maybe."):
        tt = smart_machine()
        tt.words(text, now=T0 + 1)
        assert tt.acoustic(0.99) == [TurnWindow(2000, "the words sound unfinished")], text


def test_no_words_leave_the_fallback_silence_whatever_the_voice_says():
    tt = smart_machine()
    tt.words("", now=T0 + 1)
    assert tt.acoustic(0.1) == [TurnWindow(500, "no words")]


def test_a_failed_voice_model_leaves_the_words_alone_in_charge():
    tt = smart_machine()
    tt.words("Tuesday morning.", now=T0 + 1)
    assert tt.acoustic(None) == [TurnWindow(250, "sounds finished")]


def test_a_single_finished_word_waits_the_plain_silence_for_a_comma():
    """ "Yes," heard as "Yes.": the comma's ~300 ms pause outlasts the 250 ms window (issue 14's tails)."""
    tt = words_machine(end_of_turn=EndOfTurn(mode="words", silence_ms=500, finished_ms=250, unfinished_ms=2000))
    hear(tt, UserSpeechPaused(AUDIO, 640, 640), at_ms=864)
    assert tt.words("Yes.", now=T0 + 1) == [TurnWindow(500, "a single word: maybe a comma")]
    tt = smart_machine()
    tt.words("Hi!", now=T0 + 1)
    assert tt.acoustic(0.9) == [TurnWindow(500, "a single word: maybe a comma")]
    tt = smart_machine()
    tt.words("Um,", now=T0 + 1)  # one word, but open: the long hold as before
    assert tt.acoustic(0.1) == [TurnWindow(2000, "the words sound unfinished")]


def test_the_voice_is_not_asked_in_the_words_mode():
    tt = words_machine(end_of_turn=EndOfTurn(mode="words", silence_ms=500, finished_ms=250, unfinished_ms=2000))
    hear(tt, UserSpeechPaused(AUDIO, 640, 640), at_ms=864)
    assert tt.acoustic(0.1) == []
    assert tt.words("My name is Jordan.", now=T0 + 1) == [TurnWindow(250, "sounds finished")]


def test_a_voice_verdict_for_a_discarded_pause_changes_nothing():
    tt = smart_machine()
    hear(tt, UserSpeechResumed(1000), at_ms=1000)  # the caller went on: that pause's verdicts are stale
    assert tt.acoustic(0.9) == []
    assert tt.words("Tuesday.", now=T0 + 1.1) == []


def test_one_word_in_the_first_few_hundred_ms_is_not_enough_to_cut():
    """Whisper hears a "mhm" cut short as "here." or "Wow.": the early check waits for the caller's pause."""
    tt = words_machine()
    overlap(tt, 320)
    assert tt.overlap_words("Wow.", now=T0 + 1.45, final=False) == []
    hear(tt, UserSpeechPaused(AUDIO, 1400, 400), at_ms=1624, agent_audible=True)
    [resume, _window] = tt.words("M H M", now=T0 + 1.8)  # the whole hum, spelled out
    assert resume == ResumeAgent(at=T0 + 1.8, why="backchannel")


def test_a_one_word_barge_in_cuts_at_the_callers_pause():
    tt = words_machine()
    overlap(tt, 320)
    hear(tt, UserSpeechPaused(AUDIO, 1400, 400), at_ms=1624, agent_audible=True)
    [cut, _window] = tt.words("Stop.", now=T0 + 1.8)
    assert isinstance(cut, BargeIn)


def test_a_backchannel_heard_early_is_not_cut_for_going_on_past_the_confirmation():
    """ "Yeah, yeah." runs past the 250 ms confirmation; its early words are a backchannel: no cut for length."""
    tt = words_machine()
    overlap(tt, 320)
    assert tt.overlap_words("Yeah.", now=T0 + 1.45, final=False) == []
    for ms in range(352, 1184, 32):  # on past the confirmation, short of the longest backchannel
        # Nothing is cut; the overlap is only heard again, once two VAD windows more of it are there.
        expected = [CheckOverlap(at=T0 + (1000 + ms) / 1000)] if ms == 384 else []
        assert hear(tt, UserSpeaking(ms, 1000 + ms), at_ms=1000 + ms, agent_audible=True) == expected, ms
    hear(tt, UserSpeechPaused(AUDIO, 2150, 1150), at_ms=2374, agent_audible=True)
    [resume, _window] = tt.words("Yeah, yeah.", now=T0 + 2.5)
    assert resume == ResumeAgent(at=T0 + 2.5, why="backchannel")


def test_a_backchannel_that_goes_on_too_long_is_a_turn():
    tt = words_machine()
    overlap(tt, 320)
    tt.overlap_words("Okay.", now=T0 + 1.45, final=False)
    assert kinds(hear(tt, UserSpeaking(1184, 2184), at_ms=2184, agent_audible=True)) == ["CheckOverlap"]
    [cut] = hear(tt, UserSpeaking(1216, 2216), at_ms=2216, agent_audible=True)  # BACKCHANNEL_LONGEST_MS
    assert cut == BargeIn(at=T0 + 2.216, speech_ms=1216)


def test_words_after_an_early_backchannel_still_cut_at_the_pause():
    """ "Okay, wait, stop.": the early check hears "Okay"; the whole overlap's words cut the agent."""
    tt = words_machine()
    overlap(tt, 320)
    tt.overlap_words("Okay.", now=T0 + 1.45, final=False)
    hear(tt, UserSpeaking(800, 1800), at_ms=1800, agent_audible=True)
    hear(tt, UserSpeechPaused(AUDIO, 1800, 800), at_ms=2024, agent_audible=True)
    [cut, _window] = tt.words("Okay, wait, stop.", now=T0 + 2.2)
    assert isinstance(cut, BargeIn)


def test_one_unknown_early_word_still_cuts_for_length():
    """A real barge-in's first word ("Thursday") is no backchannel: speech that goes on cuts as before."""
    tt = words_machine()
    overlap(tt, 320)
    assert tt.overlap_words("Thursday.", now=T0 + 1.45, final=False) == []
    [cut] = hear(tt, UserSpeaking(576, 1576), at_ms=1576, agent_audible=True)
    assert isinstance(cut, BargeIn)


def test_the_next_overlap_starts_without_the_last_ones_backchannel():
    tt = words_machine()
    overlap(tt, 320)
    tt.overlap_words("Yeah.", now=T0 + 1.45, final=False)
    hear(tt, UserSpeechPaused(AUDIO, 1400, 400), at_ms=1624, agent_audible=True)
    tt.words("Yeah.", now=T0 + 1.7)  # resumed
    hear(tt, UserTurnEnded(AUDIO, 1400, 400), at_ms=1900, agent_audible=True)
    out = hear(tt, UserSpeechStarted(3000), at_ms=3032, agent_audible=True)
    for ms in range(32, 321, 32):
        out += hear(tt, UserSpeaking(ms, 3000 + ms), at_ms=3000 + ms, agent_audible=True)
    assert kinds(out) == ["PauseAgent"]
    assert tt.overlap_words("Can", now=T0 + 3.45, final=False) == []  # one word, no backchannel
    [cut] = hear(tt, UserSpeaking(576, 3576), at_ms=3576, agent_audible=True)
    assert isinstance(cut, BargeIn)  # the length rule is back


def test_one_real_word_among_backchannels_early_is_not_a_cut():
    """tiny.en, prompted, heard the first 300 ms of Piper's "Mhm." as "And, Mm-hmm."."""
    tt = words_machine()
    overlap(tt, 320)
    assert tt.overlap_words("And, Mm-hmm.", now=T0 + 1.4, final=False) == []
    hear(tt, UserSpeechPaused(AUDIO, 1400, 400), at_ms=1624, agent_audible=True)
    [resume, _window] = tt.words("Mm-hmm. Mm-hmm.", now=T0 + 1.7)
    assert resume == ResumeAgent(at=T0 + 1.7, why="backchannel")


def test_no_words_early_is_not_cut_for_length_either():
    """A noisy "Yeah, yeah." whose first 300 ms came back empty: its words at the pause decide."""
    tt = words_machine()
    overlap(tt, 320)
    assert tt.overlap_words("", now=T0 + 1.45, final=False) == []
    for ms in range(352, 1000, 32):
        out = hear(tt, UserSpeaking(ms, 1000 + ms), at_ms=1000 + ms, agent_audible=True)
        assert kinds(out) in ([], ["CheckOverlap"]), ms  # looked at again, never cut
    hear(tt, UserSpeechPaused(AUDIO, 2000, 1000), at_ms=2224, agent_audible=True)
    [resume, _window] = tt.words("Yeah, yeah.", now=T0 + 2.4)
    assert resume == ResumeAgent(at=T0 + 2.4, why="backchannel")


def test_unsure_words_on_a_short_overlap_resume_the_agent():
    """tiny.en heard a noisy "Mhm." as "and make them." with confidence 0.54: no barge-in."""
    tt = words_machine()
    overlap(tt, 448)
    hear(tt, UserSpeechPaused(AUDIO, 1450, 450), at_ms=1674, agent_audible=True)
    [resume, _window] = tt.words(Transcript("and make them.", confidence=0.54), now=T0 + 1.8)
    assert resume == ResumeAgent(at=T0 + 1.8, why="unsure words")


def test_sure_words_on_a_short_overlap_still_cut():
    tt = words_machine()
    overlap(tt, 448)
    hear(tt, UserSpeechPaused(AUDIO, 1450, 450), at_ms=1674, agent_audible=True)
    [cut, _window] = tt.words(Transcript("Stop.", confidence=0.8), now=T0 + 1.8)
    assert isinstance(cut, BargeIn)


def test_the_words_people_interrupt_with_cut_however_unsure():
    """tiny.en is often unsure of a lone "No." or "Sorry?" over the agent (0.41-0.61): it is still a barge-in."""
    for text in ("No.", "Sorry?", "Hold on.", "Wait, what?"):
        tt = words_machine()
        overlap(tt, 448)
        hear(tt, UserSpeechPaused(AUDIO, 1450, 450), at_ms=1674, agent_audible=True)
        [cut, _window] = tt.words(Transcript(text, confidence=0.45), now=T0 + 1.8)
        assert isinstance(cut, BargeIn), text


def test_a_longer_looks_word_cuts_a_caller_who_talked_past_the_confirmation_and_then_paused():
    """The first look heard nothing; the caller talked on (spared for it), then a comma's silence:
    the longer look's one word cuts, with no speech left to cut on."""
    tt = words_machine()
    overlap(tt, 320)
    assert tt.overlap_words("", now=T0 + 1.4, final=False) == []
    out = []
    for ms in range(352, 577, 32):  # past the 250 ms confirmation, then quiet
        out += hear(tt, UserSpeaking(ms, 1000 + ms), at_ms=1000 + ms, agent_audible=True)
    assert kinds(out) == ["CheckOverlap"]
    assert tt.overlap_words("Thursday.", now=T0 + 1.7, final=False) == [BargeIn(at=T0 + 1.7, speech_ms=320)]


def test_late_early_words_do_not_cut_a_caller_who_stopped_before_the_confirmation():
    tt = words_machine()
    overlap(tt, 544)  # 224 ms past the pause, then quiet
    assert tt.overlap_words("Here.", now=T0 + 1.7, final=False) == []


def test_the_words_people_interrupt_with_cut_as_soon_as_an_early_look_hears_them():
    """bench_voice's "Sorry." at the caller's pause waited for the whole transcript: 348 ms to the clear."""
    for text in ("Sorry?", "No.", "Wait...", Transcript("No,", confidence=0.3)):
        tt = words_machine()
        overlap(tt, 320)
        assert tt.overlap_words(text, now=T0 + 1.45, final=False) == [BargeIn(at=T0 + 1.45, speech_ms=320)], text


def test_two_early_words_whisper_is_unsure_of_are_not_a_cut():
    """A noisy hum came back "And make it." (0.5): not a barge-in on its own, but worth a longer look."""
    tt = words_machine()
    overlap(tt, 320)
    assert tt.overlap_words(Transcript("And make it.", confidence=0.5), now=T0 + 1.45, final=False) == []
    assert hear(tt, UserSpeaking(448, 1448), at_ms=1448, agent_audible=True) == [CheckOverlap(at=T0 + 1.448)]
    assert hear(tt, UserSpeaking(608, 1608), at_ms=1608, agent_audible=True) == []  # not cut for its length
    hear(tt, UserSpeechPaused(AUDIO, 1650, 650), at_ms=1874, agent_audible=True)
    [resume, _window] = tt.words(Transcript("Mm-hmm.", confidence=0.7), now=T0 + 2.0)
    assert resume == ResumeAgent(at=T0 + 2.0, why="backchannel")


def test_a_longer_look_hears_the_barge_in_an_early_backchannel_hid():
    """ "Actually, I need to change that." whose first 300 ms came back "Okay.": cut by the next look, not at 1.2 s."""
    tt = words_machine()
    overlap(tt, 320)
    assert tt.overlap_words("Okay.", now=T0 + 1.45, final=False) == []
    assert hear(tt, UserSpeaking(448, 1448), at_ms=1448, agent_audible=True) == [CheckOverlap(at=T0 + 1.448)]
    [cut] = tt.overlap_words("Okay, I need to", now=T0 + 1.6, final=False)
    assert cut == BargeIn(at=T0 + 1.6, speech_ms=320)


def test_a_caller_who_went_quiet_while_the_early_look_ran_is_heard_again_at_once():
    """ "Hold on," then a comma's pause: the first 300 ms came back empty after the words were all said."""
    tt = words_machine()
    overlap(tt, 448)  # 128 ms more than the first look heard, then quiet
    hear(tt, UserSpeechPaused(AUDIO, 1448, 448), at_ms=1672, agent_audible=True)
    assert tt.overlap_words("", now=T0 + 1.7, final=False) == [CheckOverlap(at=T0 + 1.7)]
    [cut] = tt.overlap_words("Hold on.", now=T0 + 1.85, final=False)
    assert isinstance(cut, BargeIn)


def test_the_overlap_is_heard_again_on_each_64_ms_more_of_speech_three_times_at_most():
    tt = words_machine()
    overlap(tt, 320)
    looks_at = []
    for ms in range(352, 1184, 32):
        if tt.overlap_words("Yeah.", now=T0 + (1000 + ms) / 1000, final=False) == []:  # each look settles nothing
            out = hear(tt, UserSpeaking(ms, 1000 + ms), at_ms=1000 + ms, agent_audible=True)
            looks_at += [ms for decision in out if isinstance(decision, CheckOverlap)]
    assert looks_at == [384, 448, 512]  # 64 ms more each time, three times

    # The caller paused and spoke again over the still paused agent: the new speech is counted afresh.
    tt = words_machine()
    overlap(tt, 320)
    assert tt.overlap_words("Yeah.", now=T0 + 1.4, final=False) == []
    hear(tt, UserSpeechStarted(1500), at_ms=1532, agent_audible=False)
    looks_at = []
    for ms in range(32, 200, 32):
        out = hear(tt, UserSpeaking(ms, 1500 + ms), at_ms=1500 + ms, agent_audible=False)
        looks_at += [ms for decision in out if isinstance(decision, CheckOverlap)]
    assert looks_at == [64]


def test_a_longer_looks_unsure_words_end_the_reprieve_but_do_not_cut_on_their_own():
    """espeak-ng's "Actually, I need ..." came back "Okay." then "I killed." (0.26);
    a noisy hum "Okay." then "and make them." (0.47)."""
    # The caller talks on: the length rule cuts at the next speech event.
    tt = words_machine()
    overlap(tt, 320)
    assert tt.overlap_words("Okay.", now=T0 + 1.4, final=False) == []
    for ms in range(352, 609, 32):  # past the 250 ms confirmation, spared by the backchannel
        hear(tt, UserSpeaking(ms, 1000 + ms), at_ms=1000 + ms, agent_audible=True)
    assert tt.overlap_words(Transcript("I killed.", confidence=0.26), now=T0 + 1.62, final=False) == []
    [cut] = hear(tt, UserSpeaking(640, 1640), at_ms=1640, agent_audible=True)
    assert cut == BargeIn(at=T0 + 1.64, speech_ms=640)

    # The caller has stopped: the unsure words alone do not cut; at the pause they resume the agent.
    tt = words_machine()
    overlap(tt, 320)
    assert tt.overlap_words("Okay.", now=T0 + 1.4, final=False) == []
    for ms in range(352, 609, 32):
        hear(tt, UserSpeaking(ms, 1000 + ms), at_ms=1000 + ms, agent_audible=True)
    hear(tt, UserSpeechPaused(AUDIO, 1608, 608), at_ms=1832, agent_audible=True)
    assert tt.overlap_words(Transcript("and make them.", confidence=0.47), now=T0 + 1.85, final=False) == []
    [resume, _window] = tt.words(Transcript("and make them.", confidence=0.47), now=T0 + 2.0)
    assert resume == ResumeAgent(at=T0 + 2.0, why="unsure words")


def short_overlap(tt: TurnTaking, speech_ms: float, *, agent_audible: bool = True) -> None:
    """The caller says something shorter than the barge-in minimum over the agent, then pauses."""
    hear(tt, UserSpeechStarted(1000), at_ms=1032, agent_audible=agent_audible)
    for ms in range(32, int(speech_ms) + 1, 32):
        assert hear(tt, UserSpeaking(ms, 1000 + ms), at_ms=1000 + ms, agent_audible=agent_audible) == []
    hear(tt, UserSpeechPaused(AUDIO, 1000 + speech_ms, speech_ms), at_ms=1224 + speech_ms, agent_audible=agent_audible)


def test_a_word_people_interrupt_with_cuts_the_agent_even_under_the_minimum_speech():
    """A quick "Stop." (256 ms of speech) never paused the agent: its words at the caller's pause cut it."""
    tt = words_machine()
    short_overlap(tt, 256)
    [cut, _window] = tt.words(Transcript("Stop.", confidence=0.45), now=T0 + 1.6)
    assert cut == BargeIn(at=T0 + 1.6, speech_ms=256)
    assert not any(isinstance(d, BargeIn) for d in tt.words("Stop.", now=T0 + 1.7))  # once


def test_other_short_overlaps_are_left_to_the_reply_job():
    for text in ("Yeah.", "Mm-hmm.", "", "Thanks.", "Tuesday."):
        tt = words_machine()
        short_overlap(tt, 256)
        assert not any(isinstance(d, BargeIn) for d in tt.words(text, now=T0 + 1.6)), text
    # Said while the agent was quiet, "Stop." is a turn like any other; so it is for an agent nobody may interrupt.
    for tt, audible in ((words_machine(), False), (words_machine(interruptible=False), True)):
        short_overlap(tt, 256, agent_audible=audible)
        assert not any(isinstance(d, BargeIn) for d in tt.words("Stop.", now=T0 + 1.6))
