"""Working days of the Russian production calendar, written once.

A working day is Monday to Friday that is not a public holiday or a day off moved onto a weekday
(the ``holidays`` package carries Russia's calendar, transfers included). Due dates of tasks and
request deadlines count in these days.
"""

from __future__ import annotations

import datetime
from functools import lru_cache

import holidays

WEEKEND = frozenset({5, 6})  # Saturday, Sunday


@lru_cache(maxsize=64)
def _days_off(year: int) -> frozenset[datetime.date]:
    return frozenset(holidays.country_holidays("RU", years=year))


def is_working_day(day: datetime.date) -> bool:
    return day.weekday() not in WEEKEND and day not in _days_off(day.year)


def add_working_days(day: datetime.date, days: int) -> datetime.date:
    """The working day ``days`` working days after ``day`` (``day`` itself need not be one):
    Friday + 2 → Tuesday; 30 December 2026 + 2 → 12 January 2027, the New Year holidays and the
    31st (moved from 4 January) skipped."""
    remaining = days
    while remaining > 0:
        day += datetime.timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return day
