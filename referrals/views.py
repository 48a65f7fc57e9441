"""The referral pipeline's pages (SPEC §14), mounted at /referrals/: the board, a kanban by stage
that is a plain list of columns without JavaScript (every move is a form), and a lead's page with
its history and the commands. Moves from the board swap the board in place with htmx."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clients.access import clients_visible_to
from clients.models import Client, Referral
from core.http import safe_next_url
from referrals.forms import BoardFilterForm, LeadGiveForm, LeadLoseForm, LeadMoveForm, LeadWinForm
from referrals.selectors import BoardFilters, board_build, lead_for, lead_history
from staff.models import Capability

BOARD = "referrals/board.html"
LEAD = "referrals/lead.html"
WIN = "referrals/win.html"


def _pipeline_worker(request: HttpRequest) -> None:
    if not request.user.can(Capability.REFERRAL_WORK):
        raise PermissionDenied(_("The referral pipeline is for the people who keep clients."))


def _lead(request: HttpRequest, pk: int) -> Referral:
    _pipeline_worker(request)
    try:
        return lead_for(request.user, pk)
    except Referral.DoesNotExist:
        raise Http404 from None


def _board_context(request: HttpRequest, query) -> dict:
    today = timezone.localdate()
    form = BoardFilterForm(query, actor=request.user)
    filters, referrer = BoardFilters(), None
    if form.is_valid():
        data = form.cleaned_data
        if data["referrer"]:
            referrer = clients_visible_to(request.user).filter(pk=data["referrer"]).first()
        filters = BoardFilters(
            owner_id=data["owner"],
            referrer=referrer,
            status=data["stage"],
            overdue=data["overdue"],
        )
    return {
        "form": form,
        "filters": filters,
        "referrer": referrer,
        "columns": board_build(request.user, filters, today=today),
        "today": today,
        "query": query.urlencode(),
        # Where a move made without JavaScript comes back to: this board, filters kept.
        "board_url": f"{reverse('referrals:board')}?{query.urlencode()}",
        "move_choices": LeadMoveForm.base_fields["status"].choices,
    }


@require_GET
@login_required
def board(request: HttpRequest) -> HttpResponse:
    _pipeline_worker(request)
    context = _board_context(request, request.GET)
    status = 400 if context["form"].errors else 200
    return render(request, BOARD, context, status=status)


def _lead_page(request: HttpRequest, lead: Referral, *, status: int = 200, **forms) -> HttpResponse:
    actor = request.user
    context = {
        "lead": lead,
        "history": lead_history(lead),
        "today": timezone.localdate(),
        "move_form": forms.get("move")
        or LeadMoveForm(
            initial={"status": lead.status, "next_step_on": lead.next_step_on}, actor=actor
        ),
        "lose_form": forms.get("lose") or LeadLoseForm(actor=actor),
        "give_form": (forms.get("give") or LeadGiveForm(actor=actor, initial={"owner": lead.owner}))
        if actor.can(Capability.REFERRAL_GIVE)
        else None,
    }
    # What a refused command says beyond its fields (a closed lead, a refusal) stands above the
    # page: a closed lead's page has no forms to show it next to.
    context["command_errors"] = [
        message for form in forms.values() for message in form.non_field_errors()
    ]
    return render(request, LEAD, context, status=status)


@require_GET
@login_required
def lead(request: HttpRequest, pk: int) -> HttpResponse:
    return _lead_page(request, _lead(request, pk))


def _command(request: HttpRequest, pk: int, form_class, name: str, done: str) -> HttpResponse:
    """Run one lead command's form. From the board with htmx the answer is the board again,
    with the notice or the errors above it; otherwise a redirect back, or the lead page with the
    form's errors."""
    referral = _lead(request, pk)
    form = form_class(request.POST, actor=request.user)
    done_ok = form.submit(actor=request.user, referral=referral)
    if request.htmx and request.POST.get("from") == "board":
        context = _board_context(request, request.GET)
        if done_ok:
            return render(request, f"{BOARD}#board", context | {"notice": done})
        errors = "; ".join(str(m) for messages_ in form.errors.values() for m in messages_)
        return render(request, f"{BOARD}#board", context | {"error": errors})
    if done_ok:
        messages.success(request, done)
        return redirect(
            safe_next_url(request, default=reverse("referrals:lead", args=[referral.pk]))
        )
    return _lead_page(request, _lead(request, pk), status=400, **{name: form})


@require_POST
@login_required
def lead_move(request: HttpRequest, pk: int) -> HttpResponse:
    return _command(request, pk, LeadMoveForm, "move", _("Lead moved."))


@require_POST
@login_required
def lead_lose(request: HttpRequest, pk: int) -> HttpResponse:
    return _command(request, pk, LeadLoseForm, "lose", _("Lead closed as lost."))


@require_POST
@login_required
def lead_give(request: HttpRequest, pk: int) -> HttpResponse:
    return _command(request, pk, LeadGiveForm, "give", _("Lead given."))


@require_http_methods(["GET", "POST"])
@login_required
def lead_win(request: HttpRequest, pk: int) -> HttpResponse:
    """The client a won lead becomes, created into the referrer's manager's book."""
    referral = _lead(request, pk)
    if not referral.is_open:
        messages.info(request, _("This lead is already closed."))
        return redirect("referrals:lead", pk=referral.pk)
    if request.method == "POST":
        form = LeadWinForm(request.POST, actor=request.user)
        if form.submit(actor=request.user, referral=referral):
            client: Client = form.result
            messages.success(
                request,
                _("Lead won: «%(client)s» is a client of %(manager)s.")
                % {"client": client.name, "manager": client.manager.get_full_name()},
            )
            if clients_visible_to(request.user).filter(pk=client.pk).exists():
                return redirect("clients:detail", pk=client.pk)
            return redirect("referrals:lead", pk=referral.pk)
        status = 400
    else:
        form = LeadWinForm(
            actor=request.user,
            initial={
                "name": referral.organisation,
                "inn": referral.inn,
                "kind": referral.referrer.kind,
                "region": referral.referrer.region,
                "city": referral.referrer.city,
            },
        )
        status = 200
    credit = referral.referrer.manager
    return render(request, WIN, {"lead": referral, "form": form, "credit": credit}, status=status)
