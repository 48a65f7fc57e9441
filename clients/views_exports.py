"""Exports of the client list (RELIABILITY R08): the "Export" buttons of /clients/ queue a job;
its page shows the progress (htmx polls while the file is prepared) and the download link, which
works for the requester only and for 48 hours."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from clients.exports import (
    ExportExpired,
    client_export_request,
    export_file,
    export_job_of,
)
from clients.filters import ClientFilter
from clients.models import ExportFormat, ExportJob, ExportStatus
from core.errors import QueueUnavailable

STATUS_PAGE = "clients/export_status.html"
CONTENT_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _own_job(request: HttpRequest, pk: uuid.UUID) -> ExportJob:
    try:
        return export_job_of(request.user, pk)
    except ExportJob.DoesNotExist:
        raise Http404(_("No such export among yours.")) from None


def _problems(error: ValidationError) -> str:
    labels = {name: f.label for name, f in ClientFilter.base_filters.items()}
    labels["format"] = _("Format")
    return " ".join(
        f"{labels.get(field, field)}: {message}"
        for field, field_messages in error.message_dict.items()
        for message in field_messages
    )


@require_POST
@login_required
def export_create(request: HttpRequest) -> HttpResponse:
    """Queue an export of the list with the filters it was showing; a role without the export
    permission gets 403 (and the refusal is recorded)."""
    params = request.POST.copy()
    try:
        job = client_export_request(
            actor=request.user, params=params, fmt=params.get("format", ""), request=request
        )
    except ValidationError as error:
        messages.error(
            request, _("The export was not started. %(problems)s") % {"problems": _problems(error)}
        )
        return _back_to_list(params)
    except QueueUnavailable as error:
        messages.warning(request, error.message)
        return _back_to_list(params)
    return redirect("clients:export", pk=job.pk)


def _back_to_list(params) -> HttpResponse:
    query = {name: params.getlist(name) for name in ClientFilter.base_filters if name in params}
    suffix = f"?{urlencode(query, doseq=True)}" if query else ""
    return redirect(reverse("clients:list") + suffix)


@require_GET
@login_required
def export_status(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    job = _own_job(request, pk)
    context = {
        "job": job,
        "expired": job.is_expired(timezone.now()),
        "preparing": job.status in (ExportStatus.PENDING, ExportStatus.RUNNING),
    }
    template = f"{STATUS_PAGE}#status" if request.htmx else STATUS_PAGE
    return render(request, template, context)


@require_GET
@login_required
def export_download(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    job = _own_job(request, pk)
    try:
        content = export_file(job, now=timezone.now())
    except ExportExpired:
        return render(request, "clients/export_expired.html", {"job": job}, status=410)
    if content is None:
        return redirect("clients:export", pk=job.pk)
    response = HttpResponse(content, content_type=CONTENT_TYPES[job.format])
    response["Content-Disposition"] = f'attachment; filename="{job.filename}"'
    return response
