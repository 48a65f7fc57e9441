"""Pages of the clients app (SPEC §6)."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clients.access import client_reassignable_by, clients_visible_to, task_completable_by
from clients.exports import export_allowed
from clients.filters import BookFilter, ClientFilter
from clients.forms import (
    ClientReassignForm,
    ClientsReassignForm,
    GiveTaskForm,
    LogCallForm,
    LogRequestForm,
    ReferralForm,
    RefuseRequestForm,
)
from clients.models import Client, ClientRequest, Task
from clients.selectors import (
    TIMELINE_LIMIT,
    book_of,
    client_card_queryset,
    client_open_requests,
    client_open_tasks,
    client_timeline,
    clients_at_risk,
    clients_with_current_fee,
    clients_with_workspace_signals,
    contacts_planned,
    referral_ask_due,
    referrals_due,
    requests_overdue,
    tasks_due_for,
)
from clients.services import client_request_resolve, task_complete
from core.confirm import confirmation_page
from core.errors import Conflict
from staff.models import Capability

CLIENTS_PER_PAGE = 50


@require_http_methods(["GET", "POST"])
@login_required
def client_list(request: HttpRequest) -> HttpResponse:
    """Every role opens the list; each sees only the clients ``clients_visible_to`` allows. Who
    may reassign ticks rows and posts them back here (the list's filters stay in the address)."""
    form = None
    if request.user.can(Capability.CLIENT_REASSIGN):
        data = request.POST if request.method == "POST" else None
        form = ClientsReassignForm(data, actor=request.user)
    elif request.method == "POST":
        raise PermissionDenied
    if request.method == "POST":
        done = _clients_reassign(request, form)
        if done is not None:
            return done
    clients = clients_with_current_fee(
        clients_visible_to(request.user).select_related("manager"), on=timezone.localdate()
    )
    filterset = ClientFilter(request.GET, queryset=clients, request=request)
    # An invalid filter shows its message and no rows rather than silently ignoring the filter.
    results = filterset.qs if filterset.is_valid() else clients.none()
    page = Paginator(results, CLIENTS_PER_PAGE).get_page(request.GET.get("page"))
    template = "clients/client_list.html"
    if request.htmx and not request.htmx.boosted:
        template += "#results"
    context = {
        "filter": filterset,
        "page": page,
        "can_export": export_allowed(request.user),
        "reassign_form": form,
        "selected_ids": form.selected_ids() if form else set(),
    }
    return render(request, template, context, status=422 if form and form.errors else 200)


def _clients_reassign(request: HttpRequest, form: ClientsReassignForm) -> HttpResponse | None:
    """The selection's reassignment, confirmed first (SPEC §3.6); None when the form has errors
    and the list is shown again with them."""
    if not form.is_valid():
        return None
    back = request.get_full_path()
    page = confirmation_page(
        request, question=form.question(), cancel_url=back, action_label=_("Reassign")
    )
    if page is not None:
        return page
    if not form.submit(actor=request.user):
        return None
    count = len(form.result)
    messages.success(
        request,
        ngettext("%(count)d client reassigned.", "%(count)d clients reassigned.", count)
        % {"count": count},
    )
    return redirect(back)


# --- the manager's workspace /my/ (SPEC §6) ----------------------------------------------------

# A worklist, read row by row: 25 rows keep the page quick to scan and to serve (SPEC §9).
BOOK_PER_PAGE = 25
# Rows per list in the "today" block; the book below holds everything.
TODAY_SHOWN = 20
MY = "clients/my.html"


@require_GET
@login_required
def my_workspace(request: HttpRequest) -> HttpResponse:
    """Today's work first, then the user's own book with filters, then their KPIs. Open to the
    roles that keep a book: client managers, mentors (their own clients; the group's work is on
    /team/) and sales managers (won clients until they are handed over)."""
    if not request.user.can(Capability.KEEP_BOOK):
        raise PermissionDenied
    now = timezone.now()
    book = book_of(request.user)
    annotated = clients_with_workspace_signals(book, now=now)
    filterset = BookFilter(request.GET, queryset=annotated, request=request)
    results = filterset.qs if filterset.is_valid() else annotated.none()
    page = Paginator(results, BOOK_PER_PAGE).get_page(request.GET.get("page"))
    context = {"filter": filterset, "page": page, "today": timezone.localtime(now).date()}
    if request.htmx and not request.htmx.boosted:
        return render(request, f"{MY}#book", context)
    context |= _workspace_today(request.user, book, now=now)
    return render(request, MY, context)


def task_complete_notice(user, task: Task) -> str:
    """Tick ``task`` off for a workspace page; the words to show, done or why not (a task that
    mirrors a state says what must happen instead)."""
    try:
        task_complete(actor=user, task=task)
    except ValidationError as error:
        return " ".join(error.messages)
    except Conflict as conflict:
        return conflict.message
    return _("Task done.")


@require_POST
@login_required
def my_task_complete(request: HttpRequest, task_pk: int) -> HttpResponse:
    task = get_object_or_404(Task, pk=task_pk, assignee=request.user)
    notice = task_complete_notice(request.user, task)
    if not request.htmx:
        messages.info(request, notice)
        return redirect("clients:my")
    context = _workspace_today(request.user, book_of(request.user), now=timezone.now())
    return render(request, f"{MY}#today", context | {"notice": notice})


def _workspace_today(user, book, *, now: datetime.datetime) -> dict:
    today = timezone.localtime(now).date()
    tasks = tasks_due_for(user, today=today)
    return {
        "today": today,
        "tasks": tasks[:TODAY_SHOWN],
        "tasks_count": tasks.count(),
        "planned": contacts_planned(book, today=today)[:TODAY_SHOWN],
        "overdue_requests": requests_overdue(book, now=now)[:TODAY_SHOWN],
        "at_risk": clients_at_risk(book, now=now)[:TODAY_SHOWN],
        "referrals_due": referrals_due(user, today=today, limit=TODAY_SHOWN),
    }


# --- the client card /clients/<id>/ (SPEC §6) --------------------------------------------------

CARD = "clients/client_detail.html"
# The card's quick forms: name (also the form's prefix) → (form class, message once done).
CARD_FORMS = {
    "call": (LogCallForm, gettext_lazy("Call logged.")),
    "request": (LogRequestForm, gettext_lazy("Request logged.")),
    "referral": (ReferralForm, gettext_lazy("Referral recorded.")),
    "task": (GiveTaskForm, gettext_lazy("Task given.")),
}


@require_GET
@login_required
def client_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Everything about one client: the owner, their mentor and the director open it (and a
    return manager for the cases of the lost pool); anyone else gets a 404."""
    client = get_object_or_404(
        client_card_queryset(request.user, today=timezone.localdate()), pk=pk
    )
    if request.htmx and "limit" in request.GET:
        return render(request, f"{CARD}#timeline", _card_context(request, client))
    return _card_page(request, client)


@require_POST
@login_required
def client_log_call(request: HttpRequest, pk: int) -> HttpResponse:
    return _card_form_post(request, pk, "call")


@require_POST
@login_required
def client_log_request(request: HttpRequest, pk: int) -> HttpResponse:
    return _card_form_post(request, pk, "request")


@require_POST
@login_required
def client_add_referral(request: HttpRequest, pk: int) -> HttpResponse:
    return _card_form_post(request, pk, "referral")


@require_POST
@login_required
def client_give_task(request: HttpRequest, pk: int) -> HttpResponse:
    return _card_form_post(request, pk, "task")


@require_POST
@login_required
def client_request_resolve_view(request: HttpRequest, pk: int, request_pk: int) -> HttpResponse:
    client = _editable_client(request, pk)
    client_request = get_object_or_404(ClientRequest, pk=request_pk, client=client)
    notice = _("Request resolved.")
    try:
        client_request_resolve(actor=request.user, request=client_request)
    except Conflict as error:
        notice = error.message
    return _card_action_done(request, client, notice)


@require_POST
@login_required
def client_request_refuse_view(request: HttpRequest, pk: int, request_pk: int) -> HttpResponse:
    """SPEC §3.4: asking to refuse; the request waits for the mentor's or director's approval."""
    client = _editable_client(request, pk)
    client_request = get_object_or_404(ClientRequest, pk=request_pk, client=client)
    form = RefuseRequestForm(request.POST, auto_id=f"id_refuse_{client_request.pk}_%s")
    if form.submit(actor=request.user, request=client_request):
        return _card_action_done(request, client, _("Refusal requested: it waits for approval."))
    errors = {"refuse_form": form, "refuse_request_id": client_request.pk}
    if request.htmx:
        return _card_fragments(request, client, **errors)
    return _card_page(request, client, status=422, **errors)


@require_POST
@login_required
def client_task_complete(request: HttpRequest, pk: int, task_pk: int) -> HttpResponse:
    client = _editable_client(request, pk)
    task = get_object_or_404(Task, pk=task_pk, client=client)
    notice = _("Task done.")
    try:
        task_complete(actor=request.user, task=task)
    except ValidationError as error:
        notice = " ".join(error.messages)
    except Conflict as conflict:
        notice = conflict.message
    return _card_action_done(request, client, notice)


@require_POST
@login_required
def client_reassign_view(request: HttpRequest, pk: int) -> HttpResponse:
    """One client to another manager from its card (SPEC §2), confirmed first: the director any
    client, a mentor inside the group (``client_reassignable_by``)."""
    client = get_object_or_404(
        client_card_queryset(request.user, today=timezone.localdate()), pk=pk
    )
    if not client_reassignable_by(request.user, client):
        raise PermissionDenied
    form = ClientReassignForm(request.POST, actor=request.user, client=client, prefix="reassign")
    if form.is_valid():
        page = confirmation_page(
            request,
            question=form.question(),
            cancel_url=reverse("clients:detail", args=[client.pk]),
            action_label=_("Reassign"),
        )
        if page is not None:
            return page
        if form.submit(actor=request.user, client=client):
            messages.success(
                request,
                _("%(client)s is now with %(name)s.")
                % {"client": client.name, "name": form.result.manager},
            )
            if clients_visible_to(request.user).filter(pk=client.pk).exists():
                return redirect("clients:detail", pk=client.pk)
            return redirect("clients:list")  # a sales manager's handover leaves their sight
    return _card_page(request, client, status=422, reassign_form=form)


def _editable_client(request: HttpRequest, pk: int) -> Client:
    """The client, if the user may work it; a 404 otherwise (someone else's client)."""
    clients = client_card_queryset(request.user, today=timezone.localdate())
    return get_object_or_404(clients.filter(can_edit=True), pk=pk)


def _card_form_post(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """A quick form of the card: POST-redirect-GET without JavaScript; with htmx the form comes
    back in place (fresh, or with its errors) and the timeline, requests and tasks refresh."""
    client = _editable_client(request, pk)
    form_class, message = CARD_FORMS[name]
    form = form_class(request.POST, prefix=name, actor=request.user, client=client)
    if form.submit(actor=request.user, client=client):
        if not request.htmx:
            messages.success(request, message)
            return redirect("clients:detail", pk=client.pk)
        return _card_fragments(request, client, form_partial=f"{name}-form", notice=message)
    if request.htmx:
        return render(request, f"{CARD}#{name}-form", {"client": client, f"{name}_form": form})
    return _card_page(request, client, status=422, **{f"{name}_form": form})


def _card_action_done(request: HttpRequest, client: Client, notice: str) -> HttpResponse:
    if request.htmx:
        return _card_fragments(request, client, notice=notice)
    messages.info(request, notice)
    return redirect("clients:detail", pk=client.pk)


def _timeline_limit(request: HttpRequest) -> int:
    try:
        return int(request.GET.get("limit", TIMELINE_LIMIT))
    except ValueError:
        return TIMELINE_LIMIT


def _with_flag(obj, **flags):
    """``obj`` with template flags set on it, each the answer of an access function."""
    for name, value in flags.items():
        setattr(obj, name, value)
    return obj


def _card_context(request: HttpRequest, client: Client, **extra) -> dict:
    limit = _timeline_limit(request)
    timeline, has_more = client_timeline(client, limit=limit)
    return {
        "client": client,
        "now": timezone.now(),
        "today": timezone.localdate(),
        "timeline": timeline,
        "timeline_more": limit + TIMELINE_LIMIT if has_more else None,
        "open_requests": client_open_requests(client),
        "open_tasks": [
            _with_flag(task, can_complete=task_completable_by(request.user, task))
            for task in client_open_tasks(client)
        ],
        "call_form": LogCallForm(prefix="call"),
        "referral_ask": referral_ask_due(client),
        "perms_referrals": request.user.can(Capability.REFERRAL_WORK),
        "request_form": LogRequestForm(prefix="request"),
        "referral_form": ReferralForm(prefix="referral"),
        "task_form": GiveTaskForm(prefix="task", actor=request.user, client=client),
        **extra,
    }


def _card_page(request: HttpRequest, client: Client, *, status: int = 200, **extra) -> HttpResponse:
    if "reassign_form" not in extra and client_reassignable_by(request.user, client):
        extra["reassign_form"] = ClientReassignForm(
            actor=request.user, client=client, prefix="reassign"
        )
    context = _card_context(request, client, **extra) | {
        "contacts": client.contacts.all(),
        "contracts": client.contracts.all(),
        "assignments": client.assignments.select_related("manager").order_by("-pk"),
    }
    return render(request, CARD, context, status=status)


def _card_fragments(request: HttpRequest, client: Client, *, form_partial: str = "", **extra):
    """The htmx answer to a card action: the form that was sent (if any) for the swap target,
    then the notice, timeline, open requests and open tasks as out-of-band swaps."""
    context = _card_context(request, client, oob=True, **extra)
    parts = [render_to_string(f"{CARD}#{form_partial}", context, request)] if form_partial else []
    parts.append(render_to_string(f"{CARD}#card-update", context, request))
    return HttpResponse("".join(parts))
