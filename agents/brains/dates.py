"""What a caller says about when they could come: a preference that picks or narrows the offered slots.

"Next week", "Tuesday afternoon", "any morning", "the weekend": none of these
is a time to book, and reading them as one ("Tuesday afternoon" as Tuesday
at 2 PM, then "that time is unavailable") was the demo agent's worst habit
(issue 14). A SlotPreference says which slots fit: days of the week, a part
of the day, this week or next, today or tomorrow; "any" / "whenever" means
the soonest fitting slot will do. The flow (agents.brains.flow) picks the one
offered slot that fits, or offers the free slots that fit instead.

Pure Python: times are compared on the caller's local wall clock, which the
flow passes in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Parts of the day as [start hour, end hour) on the local clock.
PARTS_OF_DAY = {
    "morning": (0, 12),
    "mornings": (0, 12),
    "lunchtime": (11, 14),
    "noon": (11, 14),
    "afternoon": (12, 17),
    "afternoons": (12, 17),
    "evening": (17, 24),
    "evenings": (17, 24),
    "tonight": (17, 24),
}
_ANY = re.compile(r"\b(any|anytime|whenever|either|whichever|soonest|earliest|first available)\b")
_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class SlotPreference:
    weekdays: frozenset[int] = frozenset()  # 0 = Monday; empty: any day
    hours: tuple[int, int] | None = None  # [start, end) local hour
    week: int | None = None  # 0: this week, 1: next week (weeks start on Monday)
    days_ahead: int | None = None  # 0: today, 1: tomorrow
    any: bool = False  # "any morning", "whenever": the soonest that fits will do

    def fits(self, local: datetime, today: date) -> bool:
        """Whether a slot starting at `local` (the caller's wall clock) fits; `today` is the caller's date."""
        day = local.date()
        if self.weekdays and day.weekday() not in self.weekdays:
            return False
        if self.hours is not None and not self.hours[0] <= local.hour < self.hours[1]:
            return False
        if self.days_ahead is not None and (day - today).days != self.days_ahead:
            return False
        if self.week is not None:
            monday = today - timedelta(days=today.weekday())
            if (day - monday).days // 7 != self.week:
                return False
        return True


def parse_preference(text: str) -> SlotPreference | None:
    """The preference in `text`, or None when it says nothing about days or times."""
    clean = text.lower().replace("next week", " nextweek ").replace("this week", " thisweek ")
    words = _WORD.findall(clean)
    weekdays: set[int] = set()
    hours: tuple[int, int] | None = None
    week: int | None = None
    days_ahead: int | None = None
    for word in words:
        for index, name in enumerate(WEEKDAYS):
            if word in (name, name + "s", name[:3]) and not (name == "sunday" and word == "sun"):
                weekdays.add(index)
        if word in PARTS_OF_DAY:
            hours = PARTS_OF_DAY[word]
        if word in ("weekend", "weekends"):
            weekdays |= {5, 6}
        if word in ("weekday", "weekdays"):
            weekdays |= {0, 1, 2, 3, 4}
        if word == "nextweek":
            week = 1
        if word == "thisweek":
            week = 0
        if word == "today":
            days_ahead = 0
        if word == "tomorrow":
            days_ahead = 1
    if not weekdays and hours is None and week is None and days_ahead is None:
        return None
    return SlotPreference(
        weekdays=frozenset(weekdays),
        hours=hours,
        week=week,
        days_ahead=days_ahead,
        any=bool(_ANY.search(text.lower())),
    )
