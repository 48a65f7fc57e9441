"""Celery tasks of the retention app: thin wrappers that read ISO arguments and call one
service."""

from __future__ import annotations

from celery import shared_task

from crm.task_support import RETRY_TRANSIENT, iso_date
from retention.services import (
    clients_refresh_statuses,
    lost_cases_close_expired,
    tasks_create_free_month_ending,
)


@shared_task(**RETRY_TRANSIENT)
def clients_refresh_statuses_task(today: str | None = None) -> int:
    return clients_refresh_statuses(today=iso_date(today))


@shared_task(**RETRY_TRANSIENT)
def lost_cases_close_expired_task(today: str | None = None) -> int:
    return lost_cases_close_expired(today=iso_date(today))


@shared_task(**RETRY_TRANSIENT)
def tasks_create_free_month_ending_task(today: str | None = None) -> int:
    return tasks_create_free_month_ending(today=iso_date(today))
