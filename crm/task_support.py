"""What every Celery task shares: which errors are worth a retry, and how task arguments (ISO
strings, so that a message stays readable JSON) become dates."""

from __future__ import annotations

import datetime

from django.db import InterfaceError, OperationalError
from django.utils import timezone

# Only errors that a later attempt can cure: the database restarting, a dropped connection, a
# SQLite writer holding the lock. A bug or bad data fails at once and shows in the logs.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)

RETRY_TRANSIENT = {
    "autoretry_for": TRANSIENT_ERRORS,
    "max_retries": 3,
    "retry_backoff": 10,
    "retry_backoff_max": 120,
    "retry_jitter": True,
}


def iso_date(value: str | None) -> datetime.date | None:
    return datetime.date.fromisoformat(value) if value else None


def iso_datetime(value: str | None) -> datetime.datetime | None:
    """An ISO timestamp; one without an offset is read as local time."""
    if not value:
        return None
    moment = datetime.datetime.fromisoformat(value)
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)
