"""Text handling of the LLM brain: templates, sentence chunks, and the repeat guard after failover."""

from __future__ import annotations

import pytest

from agents.brains.llm_client import _PrefixDropper
from agents.brains.sentences import SentenceChunker, clean_for_speech
from agents.brains.templating import render_template


def chunks(*deltas: str) -> list[str]:
    chunker = SentenceChunker()
    out: list[str] = []
    for delta in deltas:
        out += chunker.feed(delta)
    return out + chunker.flush()


def test_render_template_fills_lead_fields():
    assert render_template("Hi {{first_name}}, {{ last_name }} here.", {"first_name": "Ana", "last_name": "Ruiz"}) == (
        "Hi Ana, Ruiz here."
    )


def test_render_template_missing_field_leaves_no_braces_or_stray_space():
    assert render_template("Hi {{first_name}}, welcome.", {}) == "Hi, welcome."


def test_sentences_are_cut_as_they_complete():
    chunker = SentenceChunker()
    assert chunker.feed("Hello") == []
    assert chunker.feed(" there! How") == ["Hello there!"]
    assert chunker.feed(" are you") == []
    assert chunker.flush() == ["How are you"]


def test_first_clause_is_spoken_early_but_later_clauses_wait_for_the_sentence():
    assert chunks("Thanks for calling Bright Smile, how can I help, if at all? Sure, fine.") == [
        "Thanks for calling Bright Smile,",
        "how can I help, if at all?",
        "Sure, fine.",
    ]


def test_short_first_clause_is_not_cut():
    assert chunks("Hi Dana, good morning.") == ["Hi Dana, good morning."]


def test_abbreviations_and_decimals_do_not_end_a_sentence():
    assert chunks("Dr. Smith sees you at 3.30 p.m. on Monday. Okay?") == [
        "Dr. Smith sees you at 3.30 p.m. on Monday.",
        "Okay?",
    ]


def test_line_breaks_end_a_piece_and_markdown_is_not_read_aloud():
    assert chunks("**Options**\n- Monday\n- Tuesday") == ["Options", "- Monday", "- Tuesday"]
    assert clean_for_speech("Call `now` and see [our site](http://x)") == "Call now and see"


def test_a_long_run_without_punctuation_is_cut_at_a_space():
    pieces = chunks("word " * 100)
    assert len(pieces) > 1
    assert all(len(piece) <= SentenceChunker.MAX_CHARS for piece in pieces)
    assert " ".join(pieces).split() == ["word"] * 100


@pytest.mark.parametrize(
    ("spoken", "deltas", "expected"),
    [
        # A restart that repeats what was said: only the new part passes.
        ("Hello Dana. I can", ["Hello", " Dana.", " I can see", " you."], " see you."),
        # Whitespace and case differences still count as a repeat.
        ("Hello Dana.", ["hello  dana.", " Bye."], " Bye."),
        # A true continuation shares no prefix and passes whole.
        ("Hello Dana. I can", [" see you."], " see you."),
        # A different answer passes whole, at the first differing character.
        ("Hello Dana.", ["Hello Sam.", " Bye."], "Hello Sam. Bye."),
    ],
)
def test_prefix_dropper(spoken, deltas, expected):
    dropper = _PrefixDropper(spoken)
    out = "".join(dropper.feed(delta) for delta in deltas) + dropper.flush()
    assert out == expected
