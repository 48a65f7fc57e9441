"""Exports of the client list (RELIABILITY R08): a separate permission, the requester's own
visible set with the filters of the page, produced by a background task, downloadable by the
requester only for 48 hours, and recorded as a security event.

The file is built with the dashboard's writers (``core.exports``), which neutralise every text cell
a spreadsheet would run as a formula.
"""

from __future__ import annotations

import datetime
import logging
from types import SimpleNamespace

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clients.access import clients_visible_to
from clients.filters import ClientFilter
from clients.models import ExportFormat, ExportJob, ExportStatus
from clients.selectors import clients_with_current_fee
from core.exports import MONEY, TEXT, Column, table_csv, table_xlsx
from core.tasks import TASK_HARD_LIMIT, enqueue_on_commit
from staff.models import Capability, SecurityEventKind, User
from staff.security_events import security_event_record

logger = logging.getLogger(__name__)

# Salesforce deletes export files after 48 hours; so does this product.
EXPORT_LINK_LIFETIME = datetime.timedelta(hours=48)

COLUMNS = (
    Column("name", gettext_lazy("Name"), TEXT),
    Column("inn", gettext_lazy("INN"), TEXT),
    Column("kind", gettext_lazy("Kind"), TEXT),
    Column("city", gettext_lazy("City"), TEXT),
    Column("status", gettext_lazy("Status"), TEXT),
    Column("manager", gettext_lazy("Manager"), TEXT),
    Column("current_fee", gettext_lazy("Monthly fee, ₽"), MONEY),
)


def export_allowed(user: User) -> bool:
    """Who may export (SPEC §1): the director the whole department, a mentor their group (the rows
    are what they see). Exporting is a capability of its own: seeing clients on the page does not
    imply taking them away as a file."""
    return user.can(Capability.CLIENT_EXPORT)


def _filter_params(params: QueryDict) -> dict[str, list[str]]:
    """The client filters of the page, and nothing else (no page number, no stray keys)."""
    names = set(ClientFilter.base_filters)
    return {name: params.getlist(name) for name in sorted(names) if params.getlist(name)}


def _filterset(user: User, filters: dict[str, list[str]]) -> ClientFilter:
    params = QueryDict(mutable=True)
    for name, values in filters.items():
        params.setlist(name, values)
    clients = clients_with_current_fee(
        clients_visible_to(user).select_related("manager"), on=timezone.localdate()
    )
    # The filter offers managers from the user's visible set; it reads the user from a request.
    return ClientFilter(params, queryset=clients, request=SimpleNamespace(user=user))


def client_export_request(*, actor: User, params: QueryDict, fmt: str, request=None) -> ExportJob:
    """Queue an export of the clients ``actor`` sees on /clients/ with ``params`` (the page's
    filters). Refused for roles without the export permission; a bad filter or format is a
    ``ValidationError`` naming the field; ``QueueUnavailable`` when the queue cannot take it."""
    if not export_allowed(actor):
        raise PermissionDenied(_("Exports are for the director and mentors."))
    if fmt not in ExportFormat.values:
        raise ValidationError({"format": _("Choose CSV or XLSX.")})
    filters = _filter_params(params)
    filterset = _filterset(actor, filters)
    if not filterset.is_valid():
        raise ValidationError(filterset.errors)
    now = timezone.now()
    job = ExportJob.objects.create(
        requested_by=actor,
        format=fmt,
        filters=filters,
        created_at=now,
        expires_at=now + EXPORT_LINK_LIFETIME,
        filename=f"clients-{timezone.localtime(now):%Y-%m-%d-%H%M}.{fmt}",
    )
    security_event_record(
        SecurityEventKind.EXPORT,
        request=request,
        user=actor,
        export="clients",
        job=str(job.pk),
        format=fmt,
        filters=filters,
    )
    _enqueue(job)
    return job


def _enqueue(job: ExportJob) -> None:
    """Send the build task once the job row is committed (the worker must find it); with the
    queue down, the job ends as failed and the requester is told."""
    message = _("The task queue is unavailable. Try the export again later.")

    def failed() -> None:
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportStatus.FAILED, problem=message, finished_at=timezone.now()
        )

    enqueue_on_commit(
        "clients.tasks.client_export_build_task",
        args=[str(job.pk)],
        unavailable=message,
        on_unavailable=failed,
    )


def _row(client) -> dict:
    return {
        "name": client.name,
        "inn": client.inn,
        "kind": str(client.get_kind_display()),
        "city": client.city,
        "status": str(client.get_status_display()),
        "manager": client.manager.get_full_name() if client.manager else "",
        "current_fee": client.current_fee,
    }


def client_export_build(job_id: str) -> ExportJob | None:
    """Write the file of a queued export into its row. The rows are what the requester sees now,
    with the saved filters: someone who has lost the permission meanwhile gets no file. Running
    twice rebuilds the same file."""
    job = ExportJob.objects.select_related("requested_by").filter(pk=job_id).first()
    if job is None or job.status == ExportStatus.FAILED or job.purged_at is not None:
        return job
    ExportJob.objects.filter(pk=job.pk).update(status=ExportStatus.RUNNING)
    user = job.requested_by
    filterset = _filterset(user, job.filters)
    if not export_allowed(user) or not filterset.is_valid():
        return _finish(job, problem=_("The export is no longer allowed or its filter is invalid."))
    try:
        rows = [_row(client) for client in filterset.qs.iterator(chunk_size=2000)]
        if job.format == ExportFormat.CSV:
            content = table_csv(COLUMNS, rows)
        else:
            content = table_xlsx(COLUMNS, rows, title=_("Clients"))
    except Exception:
        # The status page must end its wait with an answer, whatever went wrong.
        logger.exception("Client export %s failed.", job.pk)
        return _finish(job, problem=_("The export failed."))
    return _finish(job, content=content, row_count=len(rows))


def _finish(job: ExportJob, *, content: bytes | None = None, row_count=None, problem: str = ""):
    job.content = content
    job.row_count = row_count
    job.problem = problem
    job.status = ExportStatus.FAILED if problem else ExportStatus.DONE
    job.finished_at = timezone.now()
    job.save(update_fields=["content", "row_count", "problem", "status", "finished_at"])
    return job


def export_job_of(user: User, job_id) -> ExportJob:
    """The user's own export, while they still hold the export permission; anyone else's (or a
    former exporter's) is as missing as a wrong id (404)."""
    if not export_allowed(user):
        raise ExportJob.DoesNotExist
    return ExportJob.objects.defer("content").get(pk=job_id, requested_by=user)


def export_file(job: ExportJob, *, now: datetime.datetime) -> bytes | None:
    """The file of a finished, unexpired export (None while it is being prepared)."""
    if job.is_expired(now):
        raise ExportExpired
    if job.status != ExportStatus.DONE:
        return None
    return bytes(ExportJob.objects.values_list("content", flat=True).get(pk=job.pk) or b"")


class ExportExpired(Exception):
    """The download link is past its 48 hours: the file is gone (HTTP 410)."""


def export_files_purge(*, now: datetime.datetime | None = None) -> int:
    """Erase the files of expired exports (the rows stay, as a record of what was exported),
    and mark builds that can no longer finish as failed. Returns the number of files erased."""
    now = now or timezone.now()
    # A build older than the task's hard time limit can no longer finish: its page stops waiting.
    ExportJob.objects.filter(
        status__in=[ExportStatus.PENDING, ExportStatus.RUNNING],
        created_at__lt=now - TASK_HARD_LIMIT,
    ).update(status=ExportStatus.FAILED, problem=_("The export failed."), finished_at=now)
    return ExportJob.objects.filter(expires_at__lte=now, purged_at__isnull=True).update(
        content=None, purged_at=now
    )
