"""SPEC §10: the sane range of every business date and number, defined once.

Services call these checks before they use a value (in arithmetic or in a row), so a page form
and an API request get the same 400 naming the field, and nothing out of range is ever stored.
Serializers and forms may reuse the constants for their schema and HTML ``min``/``max``.
"""

import datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

# How far ahead any business date may be: a contract signed for next season, a planned contact.
MAX_DAYS_AHEAD = 366
# A goal is a multi-year plan (the 6,000-client goal), not an event: it may look further ahead.
GOAL_MAX_YEARS_AHEAD = 10

CALL_DURATION_MAX_MIN = 600
MONTHLY_FEE_MAX = Decimal("10000000")
CAPACITY_MAX = 1000
GOAL_CLIENTS_MAX = 10_000_000


def earliest_business_date() -> datetime.date:
    return settings.EARLIEST_BUSINESS_DATE


def latest_business_date(today: datetime.date | None = None) -> datetime.date:
    return (today or timezone.localdate()) + datetime.timedelta(days=MAX_DAYS_AHEAD)


def business_date_check(
    value: datetime.date | None,
    *,
    field: str,
    not_after_today: bool = False,
    today: datetime.date | None = None,
    max_years_ahead: int | None = None,
) -> datetime.date | None:
    """Raise ``ValidationError({field: …})`` unless ``value`` lies between
    ``EARLIEST_BUSINESS_DATE`` and today (an event in the past) or a year ahead. None passes."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        try:
            value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
        except OverflowError:  # the first or last hours of year 1 or 9999 in another zone
            value = value.date()
    today = today or timezone.localdate()
    earliest = earliest_business_date()
    if value < earliest:
        raise ValidationError(
            {field: _("The date cannot be before %(day)s.") % {"day": earliest.isoformat()}}
        )
    if not_after_today and value > today:
        raise ValidationError({field: _("The date cannot be in the future.")})
    if max_years_ahead is not None:
        latest = today.replace(year=today.year + max_years_ahead, day=min(today.day, 28))
    else:
        latest = latest_business_date(today)
    if value > latest:
        raise ValidationError(
            {field: _("The date cannot be after %(day)s.") % {"day": latest.isoformat()}}
        )
    return value


def integer_check(value, *, field: str, minimum: int, maximum: int) -> int:
    """A whole number between ``minimum`` and ``maximum`` inclusive, or a ValidationError."""
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            number = Decimal(str(value))
        except (InvalidOperation, ValueError, TypeError):
            number = None
        if number is None or not number.is_finite() or number != number.to_integral_value():
            raise ValidationError({field: _("Enter a whole number.")})
        value = int(number)
    if value < minimum or value > maximum:
        raise ValidationError(
            {field: _("Enter a number from %(min)s to %(max)s.") % {"min": minimum, "max": maximum}}
        )
    return value


def call_duration_check(value, *, field: str = "duration_min") -> int:
    return integer_check(value, field=field, minimum=0, maximum=CALL_DURATION_MAX_MIN)


def capacity_check(value, *, field: str = "capacity") -> int:
    return integer_check(value, field=field, minimum=0, maximum=CAPACITY_MAX)


def monthly_fee_ceiling_check(fee: Decimal, *, field: str = "monthly_fee") -> Decimal:
    """The upper bound of a fee; the lower one (≥ 0) keeps its own message in the service."""
    if fee > MONTHLY_FEE_MAX:
        raise ValidationError(
            {
                field: _("The monthly fee cannot exceed %(max)s roubles.")
                % {"max": f"{MONTHLY_FEE_MAX:,}".replace(",", " ")}
            }
        )
    return fee
