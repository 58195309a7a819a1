"""split_sentences and SentenceChunker: one rule for where a sentence ends.

A chunk is what the engine synthesises in one go and what a mark reports as
heard, so a cut in the wrong place costs prosody (a title read as the end of
a sentence) and a missing cut costs latency (a long reply synthesised whole).
The LLM brain's streaming chunker must cut where the engine would, or the
engine cuts its pieces again somewhere else.
"""

import pytest

from agents.brains.sentences import SentenceChunker, split_sentences


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


# Phrases the two splitters used to cut mid-phrase (issue 9, defect 8): the
# engine's table lacked a.m., p.m., etc. and No.; the chunker had its own.
WHOLE_PHRASES = [
    "Come in at 9 a.m. tomorrow.",
    "Call Dr. Patel at 3 p.m. on Friday.",
    "your card, etc. to the desk",
    "No. 5 Main St.",
]


@pytest.mark.parametrize("text", WHOLE_PHRASES)
def test_abbreviations_inside_a_phrase_do_not_cut_it(text):
    assert split_sentences(text) == [text]


@pytest.mark.parametrize("text", WHOLE_PHRASES[:2])
def test_the_sentences_around_them_are_still_cut(text):
    assert split_sentences(f"Sure. {text} Bye now.") == ["Sure.", text, "Bye now."]


def stream(text, *, step):
    """The chunker's pieces for `text` arriving `step` characters at a time, after a first sentence."""
    chunker = SentenceChunker()
    pieces = chunker.feed("Okay. ")  # a first piece is out: the first-clause rule no longer applies
    for start in range(0, len(text), step):
        pieces += chunker.feed(text[start : start + step])
    return pieces + chunker.flush()


@pytest.mark.parametrize("step", [1, 3, 1000])
@pytest.mark.parametrize("text", WHOLE_PHRASES)
def test_the_streaming_chunker_keeps_the_same_phrases_whole(text, step):
    assert stream(text, step=step) == ["Okay.", text]


@pytest.mark.parametrize(
    ("text", "chunks"),
    [
        # The same abbreviations still let a real sentence end after them.
        ("We open at 9 a.m. See you then.", ["We open at 9 a.m.", "See you then."]),
        ("No. I can't make Monday.", ["No.", "I can't make Monday."]),
        ("Bring pens, paper, etc. Then we start.", ["Bring pens, paper, etc.", "Then we start."]),
        (
            "Dr. Patel, e.g. at 5 p.m. or 6 p.m. Friday is free.",
            ["Dr. Patel, e.g. at 5 p.m. or 6 p.m.", "Friday is free."],
        ),
    ],
)
def test_a_sentence_may_still_end_after_a_time_or_etc(text, chunks):
    assert split_sentences(text) == chunks


@pytest.mark.parametrize("step", [1, 2, 5, 1000])
@pytest.mark.parametrize(
    "text",
    [
        "We open at 9 a.m. See you then.",
        "No. I can't make Monday. No. 5 is fine.",
        'He said "yes." Then left; later: nothing.',
        "Call Dr. Patel at 3 p.m. on Friday. Mrs. Lee too! Ask for Mr. J. Smith at St. Mary's.",
        "Wait... okay then. It costs $3.50 at 10:30 today.",
    ],
)
def test_streamed_or_whole_the_text_is_cut_in_the_same_places(text, step):
    assert stream(text, step=step) == ["Okay.", *split_sentences(text)]


def test_the_chunker_waits_for_the_next_word_only_where_it_decides():
    chunker = SentenceChunker()
    assert chunker.feed("We open at 9 a.m. ") == []  # "tomorrow" or "See you"? not known yet
    assert chunker.feed("See") == ["We open at 9 a.m."]
    assert chunker.feed(" you there! ") == ["See you there!"]  # an exclamation mark ends at once
