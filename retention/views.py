"""The lost-client queue and the case page (SPEC §3.3, §6): return managers and the director."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from clients.services import interaction_log
from core.errors import Conflict
from retention import services
from retention.access import case_declinable_by, case_worked_by
from retention.filters import IN_WORK, LostCaseFilter
from retention.forms import AttemptForm, DeclineForm, FreeMonthForm, ReturnForm, add_service_errors
from retention.models import LostCase
from retention.selectors import (
    case_window_days,
    lost_case_for_page,
    lost_case_history,
    lost_cases_queue_for,
    lost_cases_summary,
)
from staff.models import Capability

# A worklist, worked case by case, most urgent first: 25 rows a page (SPEC §9).
CASES_PER_PAGE = 25
QUEUE = "retention/queue.html"
CASE_PAGE = "retention/case_detail.html"


def case_workers_only(view: Callable) -> Callable:
    """SPEC §6: the lost-client pages are for return managers and the director; others get 403."""

    @wraps(view)
    @login_required
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.can(Capability.CASE_WORK):
            raise PermissionDenied(_("Only return managers and the director work lost clients."))
        return view(request, *args, **kwargs)

    return wrapped


@require_GET
@case_workers_only
def queue(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    data = request.GET.copy()
    data.setdefault("status", IN_WORK)
    cases = lost_cases_queue_for(request.user)
    filterset = LostCaseFilter(data, queryset=cases, request=request)
    results = filterset.qs if filterset.is_valid() else cases.none()
    page = Paginator(results, CASES_PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = [case_window_days(case, today=today) for case in page.object_list]
    context = {"filter": filterset, "page": page}
    if request.htmx and not request.htmx.boosted:
        return render(request, f"{QUEUE}#results", context)
    context["summary"] = lost_cases_summary(request.user, today=today)
    # The director's return funnel is kpi's block on the page (kpi_blocks), up to the same day.
    context["today"] = today
    return render(request, QUEUE, context)


@require_POST
@case_workers_only
def case_claim(request: HttpRequest, pk: int) -> HttpResponse:
    """SPEC §3.3: one of any number of simultaneous claims wins; with htmx the row is swapped
    (409 for the losers, naming the winner), without JavaScript a message and a redirect."""
    case = lost_case_for_page(request.user, pk)
    try:
        services.lost_case_claim(actor=request.user, case=case)
        error = None
    except Conflict as conflict:
        error = conflict.message
    if request.htmx:
        case = case_window_days(lost_case_for_page(request.user, pk), today=timezone.localdate())
        context = {"case": case, "claim_error": error}
        return render(request, f"{QUEUE}#case-row", context, status=409 if error else 200)
    if error:
        messages.error(request, error)
        return redirect("retention:queue")
    messages.success(request, _("The case is yours: %(client)s.") % {"client": case.client})
    return redirect("retention:case", pk=case.pk)


@require_GET
@login_required
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = lost_case_for_page(request.user, pk)
    return render(request, CASE_PAGE, _case_context(request, case))


FORM_NAMES = {
    AttemptForm: "attempt_form",
    FreeMonthForm: "free_month_form",
    ReturnForm: "return_form",
    DeclineForm: "decline_form",
}


def _case_context(request: HttpRequest, case: LostCase, **forms) -> dict:
    works = case_worked_by(request.user, case)
    context = {
        "case": case_window_days(case, today=timezone.localdate()),
        "works_case": works,
        # The director may also close an unclaimed case (the service allows it).
        "can_decline": case_declinable_by(request.user, case),
        "can_claim": request.user.can(Capability.CASE_WORK),
        **lost_case_history(case),
        "attempt_form": AttemptForm(),
        "free_month_form": FreeMonthForm(),
        "return_form": ReturnForm(case=case) if works else None,
        "decline_form": DeclineForm(),
    }
    return {**context, **forms}


def _case_action(
    request: HttpRequest, pk: int, form_class: type, *, perform: Callable, done: str
) -> HttpResponse:
    """The shape of every case-page action: parse the form, call one service (one transaction),
    then redirect with a message; invalid input re-renders the form (400) and writes nothing."""
    case = lost_case_for_page(request.user, pk)
    extra = {"case": case} if form_class is ReturnForm else {}
    form = form_class(request.POST, **extra)
    if form.is_valid():
        try:
            perform(case, form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        except Conflict as conflict:
            messages.error(request, conflict.message)
            return _back_to_case(request, case)
        else:
            messages.success(request, done)
            return _back_to_case(request, case)
    name = FORM_NAMES[form_class]
    template = f"{CASE_PAGE}#{name.replace('_', '-')}" if request.htmx else CASE_PAGE
    return render(request, template, _case_context(request, case, **{name: form}), status=400)


def _back_to_case(request: HttpRequest, case: LostCase) -> HttpResponse:
    url = reverse("retention:case", kwargs={"pk": case.pk})
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _require_worker(request: HttpRequest, case: LostCase) -> None:
    if not case_worked_by(request.user, case):
        raise PermissionDenied(_("Claim the case first."))


@require_POST
@case_workers_only
def case_attempt(request: HttpRequest, pk: int) -> HttpResponse:
    """A win-back attempt is an interaction with the client, logged by the case's worker."""

    def perform(case: LostCase, data: dict) -> None:
        _require_worker(request, case)
        with transaction.atomic():
            interaction_log(actor=request.user, client=case.client, **data)

    return _case_action(request, pk, AttemptForm, perform=perform, done=_("The attempt is logged."))


@require_POST
@case_workers_only
def case_start_free_month(request: HttpRequest, pk: int) -> HttpResponse:
    def perform(case: LostCase, data: dict) -> None:
        services.lost_case_start_free_month(actor=request.user, case=case, **data)

    return _case_action(
        request, pk, FreeMonthForm, perform=perform, done=_("The free month has started.")
    )


@require_POST
@case_workers_only
def case_return(request: HttpRequest, pk: int) -> HttpResponse:
    def perform(case: LostCase, data: dict) -> None:
        services.lost_case_return(actor=request.user, case=case, **data)

    return _case_action(request, pk, ReturnForm, perform=perform, done=_("The client is back."))


@require_POST
@case_workers_only
def case_decline(request: HttpRequest, pk: int) -> HttpResponse:
    def perform(case: LostCase, data: dict) -> None:
        services.lost_case_decline(actor=request.user, case=case, **data)

    return _case_action(request, pk, DeclineForm, perform=perform, done=_("The case is declined."))
