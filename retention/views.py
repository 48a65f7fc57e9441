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
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from clients.services import interaction_log
from core.confirm import confirmation_page
from core.errors import Conflict
from retention import services
from retention.access import case_declinable_by, case_worked_by
from retention.filters import IN_WORK, LostCaseFilter
from retention.forms import AttemptForm, DeclineForm, FreeMonthForm, ReturnForm, add_service_errors
from retention.models import CaseStatus, LostCase
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
    request: HttpRequest,
    pk: int,
    form_class: type,
    *,
    perform: Callable,
    done: str,
    confirm: Callable | None = None,
) -> HttpResponse:
    """The shape of every case-page action: parse the form, call one service (one transaction),
    then redirect with a message; invalid input re-renders the form (400) and writes nothing.
    An irreversible action is asked about first (``confirm``, SPEC §11) once its input is valid,
    so the question can name what will happen."""
    case = lost_case_for_page(request.user, pk)
    extra = {"case": case} if form_class is ReturnForm else {}
    form = form_class(request.POST, **extra)
    if form.is_valid():
        if confirm is not None and (page := confirm(case, form.cleaned_data)) is not None:
            return page
        try:
            # An action whose outcome depends on its input says so in its own message.
            said = perform(case, form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        except Conflict as conflict:
            messages.error(request, conflict.message)
            return _back_to_case(request, case)
        else:
            messages.success(request, said or done)
            return _back_to_case(request, case)
    name = FORM_NAMES[form_class]
    template = f"{CASE_PAGE}#{name.replace('_', '-')}" if request.htmx else CASE_PAGE
    return render(request, template, _case_context(request, case, **{name: form}), status=400)


def _back_to_case(request: HttpRequest, case: LostCase) -> HttpResponse:
    url = _case_url(case)
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _case_url(case: LostCase) -> str:
    return reverse("retention:case", kwargs={"pk": case.pk})


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
    """SPEC §3.3: from today or a past day the client is returned at once; during a free month
    a day ahead records an agreed return, carried out on that day (``lost_case_return_agree``)."""

    def confirm(case: LostCase, data: dict) -> HttpResponse | None:
        if not case_worked_by(request.user, case):
            return None  # nothing to ask: the service refuses it with its own message
        terms = {
            "client": case.client.name,
            "manager": data["manager"].get_full_name(),
            "fee": floatformat(data["monthly_fee"], "-2g"),
            "day": date_format(data["starts_on"], "SHORT_DATE_FORMAT"),
        }
        if data["starts_on"] > timezone.localdate():
            question = _(
                "Agree the return of %(client)s to %(manager)s at %(fee)s ₽ a month from "
                "%(day)s? Nothing changes before that day; on it the case closes and the client "
                "goes to that manager. Until then the agreement can be changed or withdrawn."
            )
            label = _("Agree the return")
        else:
            question = _(
                "Return %(client)s to %(manager)s at %(fee)s ₽ a month from %(day)s? "
                "The case closes and the client goes to that manager for good."
            )
            label = _("Return the client")
        return confirmation_page(
            request, question=question % terms, cancel_url=_case_url(case), action_label=label
        )

    def perform(case: LostCase, data: dict) -> str:
        case = services.lost_case_return_agree(actor=request.user, case=case, **data)
        if case.status == CaseStatus.RETURNED:
            return _("The client is back.")
        return _("The return is agreed: on %(day)s the client goes to %(name)s.") % {
            "day": date_format(case.agreed_starts_on, "SHORT_DATE_FORMAT"),
            "name": case.agreed_manager.get_full_name(),
        }

    return _case_action(
        request, pk, ReturnForm, perform=perform, done=_("The client is back."), confirm=confirm
    )


@require_POST
@case_workers_only
def case_withdraw_return(request: HttpRequest, pk: int) -> HttpResponse:
    """Withdraw the agreed return before its day; the case stays in its free month."""
    case = lost_case_for_page(request.user, pk)
    try:
        services.lost_case_return_withdraw(actor=request.user, case=case)
    except Conflict as conflict:
        messages.error(request, conflict.message)
    else:
        messages.success(request, _("The agreed return is withdrawn."))
    return _back_to_case(request, case)


@require_POST
@case_workers_only
def case_decline(request: HttpRequest, pk: int) -> HttpResponse:
    def confirm(case: LostCase, data: dict) -> HttpResponse | None:
        if not case_declinable_by(request.user, case):
            return None  # nothing to ask: the service refuses it with its own message
        return confirmation_page(
            request,
            question=_(
                "Close the case of %(client)s without a return? "
                "The client stays lost and leaves the win-back queue for good."
            )
            % {"client": case.client.name},
            cancel_url=_case_url(case),
            action_label=_("Decline the case"),
        )

    def perform(case: LostCase, data: dict) -> None:
        services.lost_case_decline(actor=request.user, case=case, **data)

    return _case_action(
        request, pk, DeclineForm, perform=perform, done=_("The case is declined."), confirm=confirm
    )
