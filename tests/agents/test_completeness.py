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
    ],
)
def test_complete_sentences_are_finished(text):
    assert judge(text) is Verdict.FINISHED


@pytest.mark.parametrize("text", ["", "   ", "...", "—"])
def test_no_words_is_unknown(text):
    assert judge(text) is Verdict.UNKNOWN
