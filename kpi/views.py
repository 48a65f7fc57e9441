"""The director's dashboard (SPEC §4, §6): KPI tiles, charts and tables read from stored snapshots,
CSV/XLSX exports of the tables, the goal editor and a queued recompute with visible progress.

The director sees the department; a mentor sees the same page for their own group; everyone else
gets 403. Pages never touch the task queue except the recompute endpoints, so with Redis down the
dashboard still renders (and says the figures may be stale).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect
from kombu.exceptions import OperationalError as BrokerError

from core.errors import QueueUnavailable
from core.exports import table_csv, table_xlsx
from core.tasks import SEND_ERRORS
from kpi.access import dashboard_group_for
from kpi.dashboard_selectors import SORT_COLUMNS, dashboard_build, dashboard_table, goal_initial
from kpi.exports import TABLE_TITLES, TABLES
from kpi.forms import EXPORT_FORMATS, PERIOD_CHOICES, GoalForm, PeriodForm
from kpi.planner import hiring_warning
from kpi.selectors import goals_recent
from kpi.services import goal_set
from kpi.tasks import enqueue_kpi_recompute, kpi_recompute_task
from staff.models import Capability, SecurityEventKind
from staff.security_events import security_event_record

DASHBOARD = "kpi/dashboard.html"
GOAL_PAGE = "kpi/goal_form.html"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Polls of a recompute's progress (every 2 s) before the page stops asking: a recompute takes
# seconds; a task the queue never reports on must not keep the browser busy forever.
MAX_POLLS = 300
# The element ids of the paged people tables (htmx targets of their sort and page links).
TABLE_CARDS = {f"{name}-card": name for name in SORT_COLUMNS}


def director_only(view: Callable) -> Callable:
    @wraps(view)
    @login_required
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.can(Capability.KPI_DEPARTMENT):
            raise PermissionDenied(_("Only the director can do this."))
        return view(request, *args, **kwargs)

    return wrapped


def _dashboard_url(period: str, **extra: str) -> str:
    return f"{reverse('kpi:dashboard')}?{urlencode({'period': period, **extra})}"


@require_GET
@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    group = dashboard_group_for(request.user)
    period = PeriodForm(request.GET).period_key()
    board = dashboard_build(group=group, period=period, now=timezone.now())
    params = request.GET.dict()
    tables = {name: dashboard_table(board, name, params) for name in SORT_COLUMNS}
    context = {"board": board, "periods": PERIOD_CHOICES, "period": period, "tables": tables}
    if request.htmx and request.htmx.target in TABLE_CARDS:
        # A header or page link of one people table: only that table is swapped in.
        name = TABLE_CARDS[request.htmx.target]
        return render(request, f"{DASHBOARD}#{name}-card", {**context, "listing": tables[name]})
    if group is None:
        # SPEC §16's warning on the department's dashboard (hiring is the director's decision;
        # a mentor reads it on /team/ and in the planner).
        context["hiring_due"] = hiring_warning(timezone.localdate(), goal=board.goal)
    task_id = _task_id(request.GET.get("task"))
    if group is None and task_id:
        context["recompute"] = _progress(task_id, polls=0)
    return render(request, DASHBOARD, context)


@require_GET
@login_required
def export(request: HttpRequest, table: str, fmt: str) -> HttpResponse:
    group = dashboard_group_for(request.user)
    if table not in TABLES or fmt not in EXPORT_FORMATS:
        raise Http404(_("No such export."))
    period = PeriodForm(request.GET).period_key()
    board = dashboard_build(group=group, period=period, now=timezone.now())
    columns, rows = TABLES[table], board.table(table)
    month = board.month or timezone.localdate()
    if fmt == "csv":
        response = HttpResponse(table_csv(columns, rows), content_type="text/csv; charset=utf-8")
    else:
        body = table_xlsx(columns, rows, title=str(TABLE_TITLES[table]))
        response = HttpResponse(body, content_type=XLSX)
    span = "all" if period == "all" else f"{period}m"
    filename = f"dashboard-{table}-{span}-{month:%Y-%m}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    security_event_record(
        SecurityEventKind.EXPORT,
        request=request,
        table=table,
        format=fmt,
        period=period,
        rows=len(rows),
    )
    return response


@require_http_methods(["GET", "POST"])
@director_only
def goal(request: HttpRequest) -> HttpResponse:
    form = GoalForm(request.POST or None, initial=goal_initial(today=timezone.localdate()))
    if request.method == "POST" and form.is_valid():
        try:
            created = goal_set(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(
                request,
                _("The goal is set: %(start)s → %(target)s clients by %(date)s.")
                % {
                    "start": created.start_clients,
                    "target": created.target_clients,
                    "date": date_format(created.target_on),
                },
            )
            return redirect("kpi:dashboard")
    status = 400 if form.is_bound else 200
    context = {"form": form, "goals": goals_recent()}
    return render(request, GOAL_PAGE, context, status=status)


@require_POST
@director_only
def recompute(request: HttpRequest) -> HttpResponse:
    """Queue a recompute of every month (SPEC §5). Embedded mode runs it at once; with a worker the
    page polls the task's progress; with Redis down it says so and keeps the stored figures."""
    period = PeriodForm(request.POST).period_key()
    try:
        task_id = enqueue_kpi_recompute()
    except (QueueUnavailable, BrokerError):
        progress = {"state": "unavailable", "problem": _recompute_problem("unavailable")}
    else:
        progress = _progress(task_id, polls=0)
    return _answer(request, progress, period)


@require_GET
@director_only
def recompute_status(request: HttpRequest, task_id: uuid.UUID) -> HttpResponse:
    period = PeriodForm(request.GET).period_key()
    try:
        polls = int(request.GET.get("polls", "0")) + 1
    except ValueError:
        polls = 1
    return _answer(request, _progress(str(task_id), polls=polls), period)


def _answer(request: HttpRequest, progress: dict, period: str) -> HttpResponse:
    """Finished: back to the dashboard with a message (it shows the new figures). Otherwise the
    progress fragment for htmx, or the dashboard carrying the task for a page without JavaScript."""
    if progress["state"] == "done":
        messages.success(request, _("The figures have been recomputed."))
        url = _dashboard_url(period)
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    if request.htmx:
        context = {"recompute": progress, "period": period}
        return render(request, f"{DASHBOARD}#recompute-status", context)
    if progress["state"] == "running":
        return redirect(_dashboard_url(period, task=progress["task_id"]))
    messages.warning(request, _recompute_problem(progress["state"]))
    return redirect(_dashboard_url(period))


def _progress(task_id: str, *, polls: int) -> dict:
    """Where the recompute ``task_id`` stands: ``running``, ``done``, ``failed``, ``lost`` (no news
    for too long) or ``unavailable`` (the result store, i.e. Redis, cannot be read)."""
    progress = {"task_id": task_id, "polls": polls, "problem": ""}
    if kpi_recompute_task.app.conf.task_always_eager:
        # Embedded mode: the task ran inside the request that queued it.
        return {**progress, "state": "done"}
    try:
        state = kpi_recompute_task.AsyncResult(task_id).state
    except SEND_ERRORS:
        state = "UNAVAILABLE"
    if state == "SUCCESS":
        verdict = "done"
    elif state in ("FAILURE", "REVOKED"):
        verdict = "failed"
    elif state == "UNAVAILABLE":
        verdict = "unavailable"
    else:  # PENDING, RECEIVED, STARTED, PROGRESS, RETRY
        verdict = "running" if polls < MAX_POLLS else "lost"
    progress.update(state=verdict, problem=_recompute_problem(verdict))
    return progress


def _recompute_problem(state: str) -> str:
    return {
        "unavailable": _(
            "Recompute is unavailable: the task queue cannot be reached. The figures shown "
            "are the stored ones and may be stale."
        ),
        "failed": _("The recompute failed; the stored figures are unchanged. Try again later."),
        "lost": _("No news of the recompute for too long. Reload the page later."),
    }.get(state, "")


def _task_id(value: str | None) -> str | None:
    try:
        return str(uuid.UUID(value or ""))
    except ValueError:
        return None
