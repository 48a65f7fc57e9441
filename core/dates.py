"""Calendar-month arithmetic, written once (SPEC §4: months are calendar months).

Every page, service, metric and the demo ask these functions; a month is represented by the date of
its first day.
"""

from __future__ import annotations

import calendar
import datetime

ONE_DAY = datetime.timedelta(days=1)


def month_index(day: datetime.date) -> int:
    """A running month number (months since January of year 0): differences count months."""
    return day.year * 12 + day.month - 1


def month_from_index(index: int) -> datetime.date:
    """The first day of the month of ``month_index``."""
    return datetime.date(index // 12, index % 12 + 1, 1)


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def month_end(day: datetime.date) -> datetime.date:
    """The last day of ``day``'s month."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The first day of the month ``months`` after ``day``'s month (negative: before)."""
    return month_from_index(month_index(day) + months)


def months_between(month_from: datetime.date, month_to: datetime.date) -> int:
    """How many months the range covers, both ends included."""
    return month_index(month_to) - month_index(month_from) + 1


def one_month_period_end(starts_on: datetime.date) -> datetime.date:
    """The last day of a one-calendar-month period starting on ``starts_on`` (a free month: from
    the 31st of January to the 28th or 29th of February, from the 15th to the 14th)."""
    following = add_months(starts_on, 1)
    return following.replace(day=min(starts_on.day, month_end(following).day)) - ONE_DAY
