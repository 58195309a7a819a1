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
        "Hmm, maybe",  # an opener after a hesitation
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
    ],
)
def test_complete_sentences_are_finished(text):
    assert judge(text) is Verdict.FINISHED


@pytest.mark.parametrize("text", ["", "   ", "...", "—"])
def test_no_words_is_unknown(text):
    assert judge(text) is Verdict.UNKNOWN
