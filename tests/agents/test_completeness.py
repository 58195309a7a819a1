"""Does an utterance sound finished? The words that leave a sentence open, and the ones that do not."""

from __future__ import annotations

import pytest

from agents.brains.completeness import Verdict, judge


@pytest.mark.parametrize(
    "text",
    [
        "Um, I think",
        "Um, I think...",
        "I would like to book an",
        "My name is, uh",
        "Let me see",
        "Tuesday or",
        "I was wondering if",
        "Can we do it on the",
        "Well",
        "So I'm",
        "I'd like it at",
        "Tuesday, ",
        # What tiny.en returned for the benchmark's open sentences (scripts/bench_turns.py):
        "My name is",  # the "uh" dropped
        "The best time for me would be",
        "I was wondering it.",  # "if" misheard
        "I was wondering this.",  # and so, another run
        "Hmm, maybe",  # an opener after a hesitation
        "And maybe",  # tiny.en's "Hmm, maybe" on a phone line: a connective before the opener
        "but well",
        "Could we do it on the?",  # espeak-ng's "on the" before the pause: no question ends on an article
    ],
)
def test_open_sentences_are_unfinished(text):
    assert judge(text) is Verdict.UNFINISHED


@pytest.mark.parametrize(
    "text",
    [
        "Tuesday morning would be great.",
        "Yes, I do.",
        "I think so.",
        "I'm doing well.",
        "Nine thirty",
        "No",
        "Can you hear me?",
        "What time do you open on?",  # a question is a whole turn, whatever its last word
        "My name is Jordan Smith.",
        "Mhm.",
        "Who is that?",
        "Yes, it is.",  # a linking verb after its whole subject ends the sentence
        "That's where we are.",
        "I'll take it.",
        "And maybe not.",  # the opener with something after it
        "So maybe Thursday.",
    ],
)
def test_complete_sentences_are_finished(text):
    assert judge(text) is Verdict.FINISHED


@pytest.mark.parametrize("text", ["", "   ", "...", "—"])
def test_no_words_is_unknown(text):
    assert judge(text) is Verdict.UNKNOWN


@pytest.mark.parametrize(
    "text",
    [
        # What tiny.en made of "Could we do it on the" on noisy phone audio (scripts/bench_turns.py):
        "could we do it on that.",
        "we do it on this.",
        "could we do it on there.",
        "I'll come in for that.",  # a whole sentence too: unsure, not unfinished
        "Could we do it on that?",  # its question mark is no surer than the full stop
    ],
)
def test_a_preposition_and_a_demonstrative_at_the_end_is_unsure(text):
    assert judge(text) is Verdict.UNSURE


@pytest.mark.parametrize(
    "text",
    ["Can you help me with that?", "That works.", "I like that.", "I agree with that.", "I'm calling about that."],
)
def test_a_demonstrative_alone_or_in_a_question_is_finished(text):
    assert judge(text) is Verdict.FINISHED
