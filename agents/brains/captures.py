"""Turn what a caller said into values: numbers, and dates and times in the caller's timezone.

"Tomorrow at 3", "Tuesday at two thirty in the afternoon", "next week",
"in two hours", "March 5th at 10 a.m.": the results are timezone-aware
datetimes in the lead's zone, built from the local wall clock, so a DST
change between now and then lands on the right offset.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz, process

from agents.brains.intents import normalize

_UNITS = {
    "zero": 0,
    "oh": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "thirteenth": 13,
    "fifteenth": 15,
    "twentieth": 20,
    "thirtieth": 30,
}
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
_PARTS_OF_DAY = {"morning": time(9, 0), "afternoon": time(14, 0), "evening": time(18, 0), "tonight": time(19, 0)}
_DEFAULT_TIME = time(10, 0)


def words_to_digits(text: str) -> str:
    """Normalized text with number words as digits: "two thirty" -> "2 30", "twenty five" -> "25"."""
    out: list[str] = []
    tokens = text.split()
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token in _TENS:
            value = _TENS[token]
            if i + 1 < len(tokens) and tokens[i + 1] in _UNITS and 0 < _UNITS[tokens[i + 1]] < 10:
                value += _UNITS[tokens[i + 1]]
                i += 1
            out.append(str(value))
        elif token in _UNITS and not (token == "oh" and not out):  # noqa: S105 (a word, not a secret)
            out.append(str(_UNITS[token]))
        elif token in ("hundred",) and out and out[-1].isdigit():
            out[-1] = str(int(out[-1]) * 100)
        else:
            out.append(token)
        i += 1
    return " ".join(out)


def parse_number(text: str) -> float | None:
    """The first number the caller said ("about twenty five" -> 25), or None."""
    digits = words_to_digits(normalize(text)).replace(",", "")
    found = re.search(r"-?\d+(?:\.\d+)?", digits)
    if found is None:
        return None
    value = float(found.group())
    return value


def _fuzzy_word(token: str, choices: list[str], cutoff: float = 80) -> int | None:
    if len(token) < 4:
        return None
    best = process.extractOne(token, choices, scorer=fuzz.ratio, score_cutoff=cutoff)
    return None if best is None else best[2]


def _find_time(text: str) -> tuple[time | None, str | None]:
    """A clock time and an explicit meridiem ("am"/"pm") when one was said."""
    if re.search(r"\bnoon\b|\bmidday\b", text):
        return time(12, 0), "pm"
    if re.search(r"\bmidnight\b", text):
        return time(0, 0), "am"
    relative = re.search(r"\b(half|quarter) (past|after|to) (\d{1,2})\b", text)
    if relative:
        kind, direction, hour_text = relative.groups()
        hour = int(hour_text) % 24
        minutes = 30 if kind == "half" else 15
        if direction == "to":
            hour, minute = (hour - 1) % 24, 60 - minutes
        else:
            minute = minutes
        return time(hour, minute), None
    patterns = [
        r"\b(\d{1,2})[:.](\d{2})\s*(am|pm)?\b",
        r"\b(\d{1,2}) (\d{2})\s*(am|pm)\b",
        r"\b(\d{1,2})\s*(am|pm)\b",
        r"\b(?:at|around|about|by|after) (\d{1,2}) (\d{2})\b()",
        r"\b(?:at|around|about|by|after) (\d{1,2})(?: oclock)?\b()()",
        r"\b(\d{1,2}) oclock\b()()",
    ]
    for pattern in patterns:
        found = re.search(pattern, text)
        if not found:
            continue
        groups = [g for g in found.groups()]
        hour = int(groups[0])
        minute = 0
        meridiem = None
        for group in groups[1:]:
            if group and group.isdigit():
                minute = int(group)
            elif group in ("am", "pm"):
                meridiem = group
        if hour > 23 or minute > 59:
            continue
        return time(hour, minute), meridiem
    return None, None


def _apply_meridiem(at: time, meridiem: str | None, part_of_day: str | None) -> time:
    hour = at.hour
    if meridiem == "pm" and hour < 12:
        hour += 12
    elif meridiem == "am" and hour == 12:
        hour = 0
    elif meridiem is None and hour <= 12:
        if part_of_day in ("afternoon", "evening", "tonight") and hour < 12:
            hour += 12
        elif part_of_day is None and 1 <= hour <= 7:
            # Nobody books a call for 3 in the morning: bare "3" means 3 PM.
            hour += 12
    return time(hour, at.minute)


def _find_day(text: str, today: date) -> date | None:
    tokens = text.split()
    if "day after tomorrow" in text:
        return today + timedelta(days=2)
    if re.search(r"\btoday\b|\btonight\b|\bthis (morning|afternoon|evening)\b", text):
        return today
    if any(_fuzzy_word(t, ["tomorrow"], 75) is not None for t in tokens):
        return today + timedelta(days=1)
    if "next week" in text:
        return today + timedelta(days=7 - today.weekday())  # next Monday
    for index, token in enumerate(tokens):
        month = _fuzzy_word(token, _MONTHS, 85) if token not in ("may",) else 4
        if month is not None:
            # "march 5", "march fifth", "5th of march", "the 5th of march"
            neighbours = tokens[index + 1 : index + 2] + tokens[max(0, index - 2) : index][::-1]
            for neighbour in neighbours:
                day_number = _day_number(neighbour)
                if day_number is not None:
                    try:
                        candidate = date(today.year, month + 1, day_number)
                    except ValueError:
                        return None
                    if candidate < today:
                        candidate = date(today.year + 1, month + 1, day_number)
                    return candidate
    for token in tokens:
        weekday = _fuzzy_word(token, _WEEKDAYS, 80) if token.endswith(("day", "dy", "dae")) else None
        if weekday is None and token in _WEEKDAYS:
            weekday = _WEEKDAYS.index(token)
        if weekday is not None:
            ahead = (weekday - today.weekday()) % 7 or 7
            return today + timedelta(days=ahead)
    return None


def _day_number(token: str) -> int | None:
    found = re.fullmatch(r"(\d{1,2})(st|nd|rd|th)?", token)
    if found:
        number = int(found.group(1))
        return number if 1 <= number <= 31 else None
    return _ORDINALS.get(token)


def _local_datetime(day: date, at: time, zone: ZoneInfo) -> datetime:
    # A wall time in the spring-forward gap does not exist; the UTC round trip
    # moves it forward by the gap, as a person would mean it.
    naive = datetime.combine(day, at)
    return naive.replace(tzinfo=zone).astimezone(ZoneInfo("UTC")).astimezone(zone)


def parse_datetime(text: str, zone: str, *, now: datetime) -> datetime | None:
    """The moment the caller means, in `zone`, or None when they named no day or time."""
    tz = ZoneInfo(zone)
    local_now = now.astimezone(tz)
    clean = words_to_digits(normalize(text))

    relative = re.search(r"\bin (\d+|an|a|half an) (minute|minutes|hour|hours|day|days|week|weeks)\b", clean)
    if relative:
        amount_text, unit = relative.groups()
        amount = {"an": 1.0, "a": 1.0, "half an": 0.5}.get(amount_text) or float(amount_text)
        unit = unit.rstrip("s")
        delta = {
            "minute": timedelta(minutes=amount),
            "hour": timedelta(hours=amount),
            "day": timedelta(days=amount),
            "week": timedelta(weeks=amount),
        }[unit]
        return (local_now + delta).replace(second=0, microsecond=0)

    part_of_day = next((part for part in _PARTS_OF_DAY if re.search(rf"\b{part}\b", clean)), None)
    at, meridiem = _find_time(clean)
    day = _find_day(clean, local_now.date())
    if at is None and day is None and part_of_day is None:
        return None
    if at is not None:
        at = _apply_meridiem(at, meridiem, part_of_day)
    elif part_of_day is not None:
        at = _PARTS_OF_DAY[part_of_day]
    else:
        at = _DEFAULT_TIME
    if day is None:
        day = local_now.date()
        if _local_datetime(day, at, tz) <= local_now:
            day += timedelta(days=1)
    return _local_datetime(day, at, tz)
