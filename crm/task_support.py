"""What every Celery task shares: which errors are worth a retry, and how task arguments (ISO
strings, so that a message stays readable JSON) become dates."""

from __future__ import annotations

import datetime
from contextlib import contextmanager

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


# Background jobs (the nightly chain, a KPI recompute, the demo seed) may run longer than a web
# request's statement timeout (RELIABILITY R31); they raise it for their own connection, and let
# their own transaction stay open while Python prepares the next batch.
BACKGROUND_STATEMENT_TIMEOUT_MS = 30 * 60 * 1000
BACKGROUND_LOCK_TIMEOUT_MS = 5 * 60 * 1000


@contextmanager
def background_db_timeouts(
    *,
    statement_ms: int = BACKGROUND_STATEMENT_TIMEOUT_MS,
    lock_ms: int = BACKGROUND_LOCK_TIMEOUT_MS,
):
    """Longer PostgreSQL timeouts for this connection while the block runs, then the defaults
    of the connection again; nothing on SQLite."""
    from django.db import connection

    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('statement_timeout', %s, false),"
            " set_config('lock_timeout', %s, false),"
            " set_config('idle_in_transaction_session_timeout', '0', false)",
            [str(statement_ms), str(lock_ms)],
        )
    try:
        yield
    finally:
        if connection.connection is not None and not connection.needs_rollback:
            with connection.cursor() as cursor:
                cursor.execute(
                    "RESET statement_timeout; RESET lock_timeout;"
                    " RESET idle_in_transaction_session_timeout"
                )
