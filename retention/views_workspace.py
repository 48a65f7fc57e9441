"""The return manager's workspace /my/ (SPEC §11): their tasks, the free months ending, the
returns due today and their cases by stage. ``crm`` routes /my/ here for a role whose workspace
is its lost-client cases rather than a book of clients."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from clients.access import task_completable_by
from clients.models import Task
from clients.views import task_complete_notice
from retention.access import has_return_workspace
from retention.selectors import (
    WORKSPACE_ROWS,
    cases_by_stage,
    free_months_ending,
    return_manager_tasks,
    returns_due,
    with_days_left,
)
from staff.models import User

MY = "retention/my.html"


@require_GET
@login_required
def my_workspace(request: HttpRequest) -> HttpResponse:
    if not has_return_workspace(request.user):
        raise PermissionDenied
    today = timezone.localdate()
    ending = free_months_ending(request.user)
    context = {
        "today": today,
        **_tasks_context(request.user, today=today),
        "ending": with_days_left(ending[:WORKSPACE_ROWS], today=today),
        "ending_count": ending.count(),
        "returns_due": list(returns_due(request.user, today=today)[:WORKSPACE_ROWS]),
        "stages": cases_by_stage(request.user),
    }
    return render(request, MY, context)


@require_POST
@login_required
def my_task_complete(request: HttpRequest, task_pk: int) -> HttpResponse:
    """Tick off a task from the workspace; one that mirrors a state says what must happen."""
    if not has_return_workspace(request.user):
        raise PermissionDenied
    task = get_object_or_404(Task, pk=task_pk, assignee=request.user)
    notice = task_complete_notice(request.user, task)
    if not request.htmx:
        messages.info(request, notice)
        return redirect("clients:my")
    context = _tasks_context(request.user, today=timezone.localdate()) | {"notice": notice}
    return render(request, f"{MY}#tasks", context)


def _tasks_context(user: User, *, today: datetime.date) -> dict:
    tasks = return_manager_tasks(user, today=today)
    shown = list(tasks[:WORKSPACE_ROWS])
    for task in shown:
        task.can_complete = task_completable_by(user, task)
    return {"today": today, "tasks": shown, "tasks_count": tasks.count()}
