"""What the voice may read: the TTS input, never the transcript, loses what it cannot say.

An LLM reply from the packaged Gemma model carried "我可以 ibleyuser", and the
English Piper voice read it aloud as "Chinese letter Chinese letter ...".
Markdown fares no better ("asterisk asterisk"), nor do emoji. So, before a
sentence is synthesised, `speakable_text` keeps only what an English (or
other Latin-script) voice can say, and the transcript keeps the original.

What is kept, and why:

- Letters of the Latin script, with their diacritics ("café", "Łódź",
  "Straße"): the voices this project ships read them; a name is worth
  keeping even when the accent comes out flat. Text is NFC-normalised first
  so that a decomposed "é" is one Latin letter, not "e" plus a mark.
- ASCII digits, and the punctuation that carries prosody or is read as a
  word: . , ; : ! ? ' " ( ) - / and the typographic quotes, dashes and
  ellipsis; & % @ # + and the currency signs ($ € £ ...), which the voices
  read as words ("fifty percent", "a at b dot com"). An underscore between
  two letters stays too ("john_doe@example.com" is read out as spelled).
- Everything else goes: other scripts (Han, Cyrillic, Arabic ...; their
  digits too), emoji with all their parts (zero-width joiners, variation
  selectors, skin tones, flag letters and tags), symbols and markup
  characters (* _ ` ~ | < > [ ] { } ^ = \\), which a voice either spells
  out or says "symbol". A keycap emoji ("1️⃣") keeps its digit, the one
  part of it that is speech.

Markup is unwrapped before characters are filtered, so that its words
survive: **bold**, *italic*, _italic_, ~~struck~~ and `code` keep their
text, a link [text](url) becomes its text, an image ![alt](url) goes
entirely (there is nothing to show on a phone line), HTML tags go and HTML
entities become their characters, and headings, list bullets, quotes,
table pipes and rules lose their marks. A numbered list keeps its numbers:
"1. Monday" reads well.

Bare URLs are left alone: a reply that spells out an address means it.

The result has its whitespace collapsed to single spaces, no space before
a comma or a full stop that lost the word it followed, and is "" when no
letter or digit is left, so the caller hears silence instead of "!".
"""

from __future__ import annotations

import html
import re
import unicodedata

# Punctuation and symbols that a voice reads as prosody or as a word.
_KEPT_PUNCTUATION = frozenset(".,;:!?'\"()-/&%@#+$ \u2018\u2019\u201c\u201d\u2013\u2014\u2026\u00a1\u00bf")

# Markdown and HTML, unwrapped in this order (a link's text may be bold, so
# links go before emphasis; code keeps its text but loses its backticks).
_CODE_FENCE = re.compile(r"^\s*(```|~~~).*$", re.MULTILINE)
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+", re.MULTILINE)
_BULLET = re.compile(r"^\s*(?:[-*+\u2022\u2023\u25e6\u2043]|>+)\s+", re.MULTILINE)
_RULE = re.compile(r"^\s*(?:[-*_=]\s*){3,}$", re.MULTILINE)
_TABLE_RULE = re.compile(r"^\s*\|?(?:\s*:?-{3,}:?\s*\|?)+\s*$", re.MULTILINE)
_STRONG = re.compile(r"(\*\*|__|~~)(?=\S)(.+?)(?<=\S)\1")
_EMPHASIS_STAR = re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])")
_EMPHASIS_UNDERSCORE = re.compile(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])")
_INLINE_CODE = re.compile(r"`+([^`]*)`+")
_TABLE_PIPE = re.compile(r"\s*\|\s*")
# Clean-up after the filter.
_SPACES = re.compile(r"\s+")
_SPACE_BEFORE_STOP = re.compile(r"\s+([,.;:!?\u2026])")
_EMPTY_BRACKETS = re.compile(r"\(\s*\)")
_REPEATED_COMMAS = re.compile(r",(?:\s*,)+")
_LEADING_JUNK = re.compile(r"^[\s,.;:!?\u2026)\-\u2013\u2014]+")
_ALNUM = re.compile(r"[^\W_]")


def speakable_text(text: str) -> str:
    """`text` with what the voice cannot say removed (see the module docstring); "" if nothing is left."""
    text = unicodedata.normalize("NFC", html.unescape(text))
    text = _unwrap_markup(text)
    text = "".join(_speakable_chars(text))
    text = _SPACES.sub(" ", text)
    text = _EMPTY_BRACKETS.sub("", text)
    text = _REPEATED_COMMAS.sub(",", text)
    text = _SPACE_BEFORE_STOP.sub(r"\1", text)
    text = _LEADING_JUNK.sub("", text)
    text = _SPACES.sub(" ", text).strip()
    return text if _ALNUM.search(text) else ""


def _unwrap_markup(text: str) -> str:
    text = _CODE_FENCE.sub("", text)
    text = _IMAGE.sub("", text)
    text = _LINK.sub(r"\1", text)
    text = _HTML_TAG.sub(" ", text)
    text = _RULE.sub("", text)
    text = _TABLE_RULE.sub("", text)
    text = _HEADING.sub("", text)
    text = _BULLET.sub("", text)
    text = _INLINE_CODE.sub(r"\1", text)
    # Nested emphasis ("***both***", "**_both_**") unwraps one layer per pass.
    for _ in range(3):
        unwrapped = _EMPHASIS_UNDERSCORE.sub(r"\1", _EMPHASIS_STAR.sub(r"\1", _STRONG.sub(r"\2", text)))
        if unwrapped == text:
            break
        text = unwrapped
    return _TABLE_PIPE.sub(" ", text)


def _speakable_chars(text: str) -> list[str]:
    kept: list[str] = []
    for index, char in enumerate(text):
        if char.isspace():
            kept.append(" ")
        elif _is_kept(text, index):
            kept.append(char)
        elif unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue  # a mark or joiner: drops out without splitting a word ("1️⃣" -> "1")
        else:
            kept.append(" ")  # anything else is a gap: "Hi🙂there" must not become "Hithere"
    return kept


def _is_kept(text: str, index: int) -> bool:
    char = text[index]
    if "0" <= char <= "9" or char in _KEPT_PUNCTUATION or _is_latin_letter(char):
        return True
    if unicodedata.category(char) == "Sc":  # currency: $ € £ ¥ ₹ ...
        return True
    return char == "_" and _is_word_char(text, index - 1) and _is_word_char(text, index + 1)


def _is_latin_letter(char: str) -> bool:
    if not char.isalpha():
        return False
    if char.isascii():
        return True
    return unicodedata.name(char, "").startswith("LATIN ")


def _is_word_char(text: str, index: int) -> bool:
    return 0 <= index < len(text) and ("0" <= text[index] <= "9" or _is_latin_letter(text[index]))
