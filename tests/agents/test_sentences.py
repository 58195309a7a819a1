"""split_sentences: the engine's cut of a Speech into TTS chunks, one mark each.

A chunk is what the engine synthesises in one go and what a mark reports as
heard, so a cut in the wrong place costs prosody (a title read as the end of
a sentence) and a missing cut costs latency (a long reply synthesised whole).
"""

import pytest

from agents.brains.llm import SentenceChunker
from agents.brains.sentences import split_sentences


@pytest.mark.parametrize(
    ("text", "chunks"),
    [
        ("Hello there. How are you? Great!", ["Hello there.", "How are you?", "Great!"]),
        # Clauses ending in ; or : are chunks of their own.
        ("Two things: first, the time; second, the place.", ["Two things:", "first, the time;", "second, the place."]),
        # Line breaks and runs of spaces are cut points, and never part of a chunk.
        ("  One.\n\nTwo!\tThree?   ", ["One.", "Two!", "Three?"]),
        ("No final stop", ["No final stop"]),
        ("Wait... okay then.", ["Wait...", "okay then."]),
        ('He said "yes." Then left.', ['He said "yes."', "Then left."]),
    ],
)
def test_sentences_and_clauses_become_chunks(text, chunks):
    assert split_sentences(text) == chunks


@pytest.mark.parametrize(
    "text",
    [
        "It costs $3.50 at 10:30 today",
        "Visit example.com/book?x=1 now",
        "Your code is 4.2.1-beta",
        "Suite 2B, 1:1 ratio",
    ],
)
def test_punctuation_inside_words_and_numbers_is_not_a_cut(text):
    assert split_sentences(text) == [text]


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text_has_no_chunks(text):
    assert split_sentences(text) == []


@pytest.mark.parametrize(
    ("text", "chunks"),
    [
        ("Dr. Patel will see you. Mrs. Lee too.", ["Dr. Patel will see you.", "Mrs. Lee too."]),
        ("Ask for Mr. J. Smith at St. Mary's.", ["Ask for Mr. J. Smith at St. Mary's."]),
    ],
)
def test_titles_and_initials_do_not_end_a_chunk(text, chunks):
    assert split_sentences(text) == chunks


def test_the_engine_keeps_what_the_llm_chunker_kept_together():
    # The LLM brain yields "Dr. Patel ..." as one piece; the engine must not undo that.
    chunker = SentenceChunker()
    pieces = chunker.feed("Sure. Dr. Patel has Tuesday at 2:30 PM free. ") + chunker.flush()
    assert [chunk for piece in pieces for chunk in split_sentences(piece)] == pieces


def test_chunks_keep_every_word_in_order():
    text = "Okay; so: Dr. Who? Yes. Fine!  And 1.5 more... done"
    assert " ".join(split_sentences(text)).split() == text.split()
