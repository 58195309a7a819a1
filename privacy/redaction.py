"""PII redaction: phone numbers, e-mail addresses, card numbers, US SSNs and dates of birth.

One pure function, `redact`, that every stored path calls (transcripts, the
model I/O log, summaries and extraction, structlog's log lines): each finding
becomes a typed placeholder such as ``[card]``, so a reader still sees *what*
was said without the value.

Callers speak, so the numbers arrive the way speech recognition writes them:
"4111 1111 1111 1111", "four one one one, one one one one, ...", "jordan at
example dot com". Digit words and digit groups joined by spaces, commas,
dashes or dots are read as one run of digits, then classified:

- 13 to 19 digits passing the Luhn check: ``[card]`` (a typo'd number that
  fails Luhn is not a card, and is left alone unless it looks like a phone);
- 9 digits written 3-2-4, or after "social security"/"SSN": ``[ssn]``;
- 10 to 15 digits (or a leading +): ``[phone]``; written numbers are also
  found with `phonenumbers`' own matcher (Leniency.VALID, so prices and
  order numbers are not phone numbers).

Dates are only personal when they are birth dates: a date after "born",
"birth", "birthday" or "DOB", or any numeric date in the 1900s, becomes
``[dob]``; an appointment "on March 3rd" stays as it is.

Order matters: e-mails first (their digits are not a phone), then dates of
birth, then cards and SSNs, then phone numbers. Identifiers and machine times
(UUIDs, Twilio SIDs, ISO date-times, this century's ISO dates) are digit runs
that are never personal: the number passes leave them alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import phonenumbers

PLACEHOLDERS = {
    "email": "[email]",
    "dob": "[dob]",
    "card": "[card]",
    "ssn": "[ssn]",
    "phone": "[phone]",
}
KINDS = tuple(PLACEHOLDERS)

_DIGIT_WORDS = {
    "zero": "0",
    "oh": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}

# --- e-mail addresses, written and spoken ----------------------------------------------------
_LOCAL = r"[a-z0-9][a-z0-9_%+-]*(?:(?:\s*\.\s*|\s+(?:dot|underscore|dash|hyphen)\s+)[a-z0-9][a-z0-9_%+-]*)*"
_DOT = r"(?:\s*\.\s*|\s+dot\s+)"
_DOMAIN = rf"[a-z0-9][a-z0-9-]*(?:{_DOT}[a-z0-9][a-z0-9-]*)*{_DOT}[a-z]{{2,24}}"
_EMAIL_RE = re.compile(rf"(?<![\w.]){_LOCAL}(?:\s*@\s*|\s+at\s+){_DOMAIN}(?![\w])", re.IGNORECASE)

# --- dates of birth ----------------------------------------------------------------------------
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_NUMBER_WORD = (
    r"(?:\d{1,4}(?:st|nd|rd|th)?|zero|oh|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|"
    r"eighty|ninety|hundred|thousand|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|"
    r"eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|"
    r"twentieth|thirtieth)"
)
_NUMBERS = rf"{_NUMBER_WORD}(?:(?:[\s,-]+|\s+and\s+){_NUMBER_WORD}){{0,6}}"
_NUMERIC_DATE = r"\d{1,2}\s*[/.-]\s*\d{1,2}\s*[/.-]\s*\d{2,4}|\d{4}-\d{1,2}-\d{1,2}"
_SPOKEN_DATE = rf"{_MONTH}\s+(?:the\s+)?{_NUMBERS}|(?:the\s+)?{_NUMBER_WORD}(?:\s+of)?\s+{_MONTH}(?:[\s,]+{_NUMBERS})?"
_BIRTH_CONTEXT = r"\b(?:born|birth|birthday|dob|d\.o\.b\.?)\b(?:\W+\w+){0,4}?\W+"
_DOB_CONTEXT_RE = re.compile(
    rf"(?P<context>{_BIRTH_CONTEXT})(?P<date>{_NUMERIC_DATE}|{_SPOKEN_DATE})(?![\w])", re.IGNORECASE
)
# A numeric date in the 1900s is nobody's appointment.
_OLD_DATE_RE = re.compile(
    r"(?<![\w/.-])(?:\d{1,2}\s*[/.-]\s*\d{1,2}\s*[/.-]\s*19\d\d|19\d\d-\d{1,2}-\d{1,2})(?![\w/])", re.IGNORECASE
)

# --- what is never personal: UUIDs, 32-hex ids (Twilio SIDs), ISO times and this century's ISO dates ----
_KEEP_RE = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"|(?<![0-9a-z])(?:[a-z]{2})?[0-9a-f]{32}(?![0-9a-z])"
    r"|\d{4}-\d{2}-\d{2}[t ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:z|[+-]\d{2}:?\d{2})?"
    r"|20\d{2}-\d{2}-\d{2}",
    re.IGNORECASE,
)

# --- runs of digits, written or spoken ---------------------------------------------------------
_DIGIT_GROUP = r"(?:\d+|zero|oh|one|two|three|four|five|six|seven|eight|nine)(?!\w)"
_SEPARATOR = r"(?:\s*[,./-]\s*|\s+(?:dash\s+)?)"
_RUN_RE = re.compile(rf"(?<![\w+])(?P<plus>\+\s*)?{_DIGIT_GROUP}(?:{_SEPARATOR}{_DIGIT_GROUP})*", re.IGNORECASE)
_WRITTEN_SSN_RE = re.compile(r"^\d{3}[-\s]\d{2}[-\s]\d{4}$")
_SSN_CONTEXT_RE = re.compile(r"\b(?:social(?:\s+security)?|ssn|s\.s\.n\.?)\b(?:\W+\w+){0,4}?\W*$", re.IGNORECASE)


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum every payment card number carries."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _digits_of(run: str) -> str:
    out = []
    for token in re.findall(r"\d+|[a-z]+", run.lower()):
        if token.isdigit():
            out.append(token)
        elif token in _DIGIT_WORDS:
            out.append(_DIGIT_WORDS[token])
    return "".join(out)


PhoneReplacer = Callable[[str], str]


def _placeholder_phone(_raw: str) -> str:
    return PLACEHOLDERS["phone"]


def _classify_run(run: str, before: str, *, cards_and_ssns: bool) -> str | None:
    digits = _digits_of(run)
    count = len(digits)
    if cards_and_ssns:
        if 13 <= count <= 19 and luhn_ok(digits):
            return "card"
        if count == 9 and (_WRITTEN_SSN_RE.match(run.strip()) or _SSN_CONTEXT_RE.search(before[-60:])):
            return "ssn"
        return None
    if run.lstrip().startswith("+") and 8 <= count <= 15:
        return "phone"
    if 10 <= count <= 15:
        return "phone"
    return None


def _replace_runs(text: str, *, cards_and_ssns: bool, phone: PhoneReplacer = _placeholder_phone) -> str:
    def replace(match: re.Match[str]) -> str:
        run = match.group(0)
        # A run that is one lone digit word ("one", "oh") is speech, not a number.
        if not any(ch.isdigit() for ch in run) and len(run.split()) < 2:
            return run
        kind = _classify_run(run, text[: match.start()], cards_and_ssns=cards_and_ssns)
        if kind == "phone":
            return phone(run)
        return PLACEHOLDERS[kind] if kind else run

    return _RUN_RE.sub(replace, text)


def _replace_written_phones(text: str, region: str, phone: PhoneReplacer) -> str:
    pieces, last = [], 0
    for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
        pieces.append(text[last : match.start])
        pieces.append(phone(match.raw_string))
        last = match.end
    if not pieces:
        return text
    pieces.append(text[last:])
    return "".join(pieces)


def redact(text: str, *, region: str = "US", phone: PhoneReplacer = _placeholder_phone) -> str:
    """`text` with every phone number, e-mail, card number, SSN and date of birth replaced by its placeholder.

    `phone` makes a phone number's replacement from the text found (the logs
    keep the last two digits for support, voiceops.logging).
    """
    if not text or (not any(ch.isdigit() or ch == "@" for ch in text) and not _may_hold_spoken_pii(text)):
        return text
    text = _EMAIL_RE.sub(PLACEHOLDERS["email"], text)
    text = _DOB_CONTEXT_RE.sub(lambda m: m.group("context") + PLACEHOLDERS["dob"], text)
    # Identifiers and machine times are digit runs too, never personal: the
    # number passes skip them (a UUID is not a phone number, a slot's ISO time is not a birth date).
    pieces, last = [], 0
    for kept in _KEEP_RE.finditer(text):
        pieces.append(_redact_numbers(text[last : kept.start()], region, phone))
        pieces.append(kept.group(0))
        last = kept.end()
    pieces.append(_redact_numbers(text[last:], region, phone))
    return "".join(pieces)


def _redact_numbers(text: str, region: str, phone: PhoneReplacer) -> str:
    if not text.strip():
        return text
    text = _OLD_DATE_RE.sub(PLACEHOLDERS["dob"], text)
    text = _replace_runs(text, cards_and_ssns=True)
    text = _replace_written_phones(text, region, phone)
    return _replace_runs(text, cards_and_ssns=False, phone=phone)


_SPOKEN_HINT_RE = re.compile(
    r"\b(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|at|born|birth|birthday|dob)\b", re.IGNORECASE
)


def _may_hold_spoken_pii(text: str) -> bool:
    # A cheap first look: most log lines and turns hold no digit, "@" or digit word at all.
    return _SPOKEN_HINT_RE.search(text) is not None


def redact_value(value: Any, redactor: Callable[[str], str] = redact) -> Any:
    """`redact` applied to every string inside a JSON-like value (dicts, lists, tuples); keys stay."""
    if isinstance(value, str):
        return redactor(value)
    if isinstance(value, dict):
        return {key: redact_value(item, redactor) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(item, redactor) for item in value]
    return value
