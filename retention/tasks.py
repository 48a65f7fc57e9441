"""Celery tasks of the retention app: thin wrappers that read ISO arguments and call one
service.

All three are idempotent (a status already refreshed, a case already closed, a reminder already
created is left as it is), so a delivery lost with its worker is redelivered."""

from __future__ import annotations

from core.tasks import idempotent_task, iso_date
from retention.services import (
    clients_refresh_statuses,
    lost_cases_close_expired,
    tasks_create_free_month_ending,
)


@idempotent_task()
def clients_refresh_statuses_task(today: str | None = None) -> int:
    """Idempotent: a status already right is left alone."""
    return clients_refresh_statuses(today=iso_date(today))


@idempotent_task()
def lost_cases_close_expired_task(today: str | None = None) -> int:
    """Idempotent: a case already closed is not closed again."""
    return lost_cases_close_expired(today=iso_date(today))


@idempotent_task()
def tasks_create_free_month_ending_task(today: str | None = None) -> int:
    """Idempotent: a free month already reminded of gets no second reminder."""
    return tasks_create_free_month_ending(today=iso_date(today))
