"""Celery tasks of the clients app: thin wrappers that read ISO arguments and call one service."""

from __future__ import annotations

from celery import shared_task

from clients.services import tasks_create_follow_ups, tasks_create_overdue_requests
from crm.task_support import RETRY_TRANSIENT, iso_date, iso_datetime


@shared_task(**RETRY_TRANSIENT)
def tasks_create_follow_ups_task(today: str | None = None) -> int:
    return tasks_create_follow_ups(today=iso_date(today))


@shared_task(**RETRY_TRANSIENT)
def tasks_create_overdue_requests_task(now: str | None = None) -> int:
    return tasks_create_overdue_requests(now=iso_datetime(now))
