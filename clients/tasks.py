"""Celery tasks of the clients app: thin wrappers that read their arguments and call one service.

The nightly steps of clients (follow-ups, overdue requests) have no tasks of their own: the
nightly chain (``crm.nightly``) calls their services in order.

Both are idempotent (a second build rewrites the same file, a second purge finds nothing left to
erase), so a delivery lost with its worker is redelivered."""

from __future__ import annotations

from clients.exports import client_export_build, export_files_purge
from core.tasks import idempotent_task


@idempotent_task()
def client_export_build_task(job_id: str) -> int | None:
    """Idempotent: a second run rebuilds the same file. Returns the number of rows."""
    job = client_export_build(job_id)
    return job.row_count if job is not None else None


@idempotent_task()
def export_files_purge_task() -> int:
    """Idempotent: erases the files of expired client exports (RELIABILITY R08)."""
    return export_files_purge()
