"""looks_hallucinated, repetition_rate and transcribe_safeguards: Whisper's loops, not the caller's repeats.

The loops are the two transcripts from the issue (a card number that came
back as "41, 41, ..." eighteen times and as "4,111, 111, 111, ..."); the
speech that must pass is what callers really repeat: digits read one at a
time, "no no no", "thank you, thank you".
"""

import inspect

import pytest
from faster_whisper import WhisperModel
from faster_whisper.transcribe import get_compression_ratio

from agents.brains.repetition import (
    MAX_DIGITS_READ,
    RepeatedRun,
    compression_ratio,
    looks_hallucinated,
    repeated_runs,
    repetition_rate,
    tokens,
    transcribe_safeguards,
)

ISSUE_LOOP_41 = ", ".join(["41"] * 18) + ","
ISSUE_LOOP_111 = "4,111, " + ", ".join(["111"] * 17) + ","


@pytest.mark.parametrize(
    "text",
    [
        ISSUE_LOOP_41,
        ISSUE_LOOP_111,
        "My card number is " + ISSUE_LOOP_41,  # a loop after real words is still a loop
        "no no no no no",  # a fifth time in a row
        "Thank you. Thank you. Thank you. Thank you. Thank you.",  # a two-word unit, five times
        "I'm sorry, I'm sorry, I'm sorry, I'm sorry, I'm sorry",
        "The the the the the the the the the the the the",
        " ".join(["1"] * (MAX_DIGITS_READ + 1)),  # longer than any card number
        # A unit longer than three words, found by the compression ratio.
        "I can help with that. I can help with that. I can help with that. I can help with that.",
        # Digits read out, then a loop: the loop is found past the digits.
        "4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 41 41 41 41 41 41",
    ],
)
def test_decoding_loops_are_caught(text):
    assert looks_hallucinated(text)


@pytest.mark.parametrize(
    "text",
    [
        "4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1",  # the Visa test card, digit by digit
        "4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1.",  # the same as Whisper punctuates it
        "My card number is 4 1 1 1, 1 1 1 1, 1 1 1 1, 1 1 1 1.",
        "one one one one one one",  # digits Whisper spelled out
        "4111 1111 1111 1111",  # read in groups
        "4,111,111,111,111,111,111.",  # one number as Whisper writes it
        " ".join(["0"] * MAX_DIGITS_READ),
        "my number is 5 5 5, 0 1 0 0, and my zip is 9 0 2 1 0",
        "no no no",
        "No, no, no, no.",
        "Thank you, thank you, thank you.",
        "Um, I think, um, I think Tuesday.",
        "bye bye",
        "I would like to book an appointment for next Tuesday afternoon if there is anything available around "
        "three or four o'clock, please, and if not then Wednesday morning would also be fine, thank you very much.",
        "",
        "Mhm.",
    ],
)
def test_speech_that_repeats_itself_is_not_a_loop(text):
    assert not looks_hallucinated(text)


def test_tokens_keep_numbers_whole_and_drop_punctuation():
    assert tokens("4,111, 111. Don't 9:30, $45.50!") == ["4,111", "111", "don't", "9:30", "45.50"]


def test_repeated_runs_report_each_repetition_once_at_its_shortest_unit():
    words = tokens("41 41 41 41 then 1 2 1 2 1 2 then okay")
    assert repeated_runs(words) == [
        RepeatedRun(unit=("41",), repeats=4, start=0),
        RepeatedRun(unit=("1", "2"), repeats=3, start=5),
    ]


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        (ISSUE_LOOP_41, 17 / 18),  # every token but the first repeats it
        ("no no no", 2 / 3),
        ("thank you thank you and goodbye", 2 / 6),
        ("a perfectly ordinary sentence", 0.0),
        ("", 0.0),
    ],
)
def test_repetition_rate_is_the_share_of_tokens_repeating_the_longest_run(text, rate):
    assert repetition_rate(text) == pytest.approx(rate)


@pytest.mark.parametrize("text", [ISSUE_LOOP_41, ISSUE_LOOP_111, "Hello there, how are you?", "x"])
def test_compression_ratio_is_faster_whispers(text):
    assert compression_ratio(text) == pytest.approx(get_compression_ratio(text))


def test_safeguards_are_accepted_by_the_installed_faster_whisper():
    accepted = inspect.signature(WhisperModel.transcribe).parameters
    options = transcribe_safeguards()
    assert set(options) <= set(accepted)


def test_safeguards_keep_faster_whispers_thresholds_and_stop_conditioning():
    accepted = inspect.signature(WhisperModel.transcribe).parameters
    options = transcribe_safeguards()
    # The same thresholds as faster-whisper's standard path...
    for name in ("compression_ratio_threshold", "log_prob_threshold", "no_speech_threshold"):
        assert options[name] == accepted[name].default
    assert list(options["temperature"]) == list(accepted["temperature"].default)
    # ...without the two settings that let a loop feed itself.
    assert options["condition_on_previous_text"] is False
    assert options["no_repeat_ngram_size"] == 3
    assert transcribe_safeguards(no_repeat_ngram_size=0)["no_repeat_ngram_size"] == 0
