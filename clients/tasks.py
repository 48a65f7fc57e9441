"""Celery tasks of the clients app: thin wrappers that read ISO arguments and call one service.

Both are idempotent (a system task is not created twice for the same reason), so a delivery lost
with its worker is redelivered."""

from __future__ import annotations

from clients.exports import client_export_build, export_files_purge
from clients.services import tasks_create_follow_ups, tasks_create_overdue_requests
from core.tasks import idempotent_task, iso_date, iso_datetime


@idempotent_task()
def tasks_create_follow_ups_task(today: str | None = None) -> int:
    """Idempotent: a client with an open follow-up gets no second one."""
    return tasks_create_follow_ups(today=iso_date(today))


@idempotent_task()
def tasks_create_overdue_requests_task(now: str | None = None) -> int:
    """Idempotent: a client with an open overdue-request task gets no second one."""
    return tasks_create_overdue_requests(now=iso_datetime(now))


@idempotent_task()
def client_export_build_task(job_id: str) -> int | None:
    """Idempotent: a second run rebuilds the same file. Returns the number of rows."""
    job = client_export_build(job_id)
    return job.row_count if job is not None else None


@idempotent_task()
def export_files_purge_task() -> int:
    """Idempotent: erases the files of expired client exports (RELIABILITY R08)."""
    return export_files_purge()
