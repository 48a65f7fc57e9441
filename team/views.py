"""The team page /team/ (SPEC §3.4–§3.6, §6): a mentor controls their group, the director every
group."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clients.access import clients_visible_to, visible_through
from clients.models import ClientRequest
from clients.selectors import refusals_awaiting, requests_overdue
from core.confirm import confirmation_page
from kpi.planner import hiring_warning
from staff.models import Capability, User
from team.forms import HandoverForm, RefusalApproveForm, RefusalRejectForm
from team.selectors import team_groups, team_member_figures, team_members

TEAM = "team/team.html"
ROWS_PER_PAGE = 20
# The director's team is every manager of the department (hundreds at scale): one page of people
# at a time keeps the per-person counters to a page's worth of rows.
MEMBERS_PER_PAGE = 50


def _require_team_lead(request: HttpRequest) -> None:
    if not request.user.can(Capability.TEAM_LEAD):
        raise PermissionDenied


@require_GET
@login_required
def team(request: HttpRequest) -> HttpResponse:
    """Each member's book and load against capacity, what is overdue, contact cadence and the
    refusals waiting for the viewer's approval."""
    _require_team_lead(request)
    return render(request, TEAM, _team_context(request))


@require_POST
@login_required
def refusal_approve(request: HttpRequest, pk: int) -> HttpResponse:
    """Refusing a client's request is final (SPEC §3.4): the approver confirms it first."""
    return _refusal_decision(
        request, pk, RefusalApproveForm, _("Refusal approved."), confirm=_confirm_approval
    )


@require_POST
@login_required
def refusal_reject(request: HttpRequest, pk: int) -> HttpResponse:
    return _refusal_decision(request, pk, RefusalRejectForm, _("Refusal rejected: back to work."))


@require_http_methods(["GET", "POST"])
@login_required
def member_handover(request: HttpRequest, pk: int) -> HttpResponse:
    """SPEC §3.6: only the director dismisses a manager, handing the whole book over at once
    (per client, to one colleague, or spread), confirmed first."""
    if not request.user.can(Capability.STAFF_MANAGE):
        raise PermissionDenied
    member = get_object_or_404(team_members(request.user), pk=pk)
    team_member_figures([member], today=timezone.localdate())
    form = HandoverForm(request.POST if request.method == "POST" else None, leaving=member)
    if form.is_bound and form.is_valid():
        page = confirmation_page(
            request,
            question=form.question(),
            cancel_url=reverse("team:handover", args=[member.pk]),
            action_label=_("Hand over and dismiss"),
        )
        if page is not None:
            return page
        if form.submit(actor=request.user, user=member):
            messages.success(
                request,
                _("%(name)s is dismissed; %(count)d clients handed over.")
                % {"name": member, "count": len(form.result)},
            )
            return redirect("team:team")
    status = 422 if form.errors else 200
    return render(request, "team/handover.html", {"member": member, "form": form}, status=status)


def _confirm_approval(request: HttpRequest, client_request: ClientRequest) -> HttpResponse | None:
    question = _(
        "Approve the refusal of the request “%(topic)s” of %(client)s? "
        "The request closes as refused for good."
    ) % {"topic": client_request.topic, "client": client_request.client.name}
    return confirmation_page(
        request,
        question=question,
        cancel_url=f"{reverse('team:team')}#refusals",
        action_label=_("Approve refusal"),
    )


def _refusal_decision(
    request: HttpRequest, pk: int, form_class, message: str, *, confirm=None
) -> HttpResponse:
    _require_team_lead(request)
    # The requests the API answers about too (clients.access); the service decides the rest: a
    # request not waiting for a decision is a conflict, one that is not theirs to decide a 403.
    client_request = get_object_or_404(
        ClientRequest.objects.filter(visible_through(request.user)).select_related("client"),
        pk=pk,
    )
    if confirm is not None and (page := confirm(request, client_request)) is not None:
        return page
    form = form_class(request.POST)
    notice = message
    if not form.submit(actor=request.user, request=client_request):
        notice = " ".join(form.non_field_errors()) or " ".join(
            error for errors in form.errors.values() for error in errors
        )
    if not request.htmx:
        messages.info(request, notice)
        return redirect("team:team")
    context = _team_context(request) | {"notice": notice, "members_oob": True}
    return HttpResponse(
        render_to_string(f"{TEAM}#refusals", context, request)
        + render_to_string(f"{TEAM}#members", context, request)
    )


def _chosen_group(request: HttpRequest, groups: list[User]) -> User | None:
    """The mentor group picked in the director's "group" filter; an unknown value shows all."""
    chosen = request.GET.get("group", "")
    return next((mentor for mentor in groups if str(mentor.pk) == chosen), None)


def _team_context(request: HttpRequest) -> dict:
    user, now = request.user, timezone.now()
    today = timezone.localtime(now).date()
    overdue = requests_overdue(clients_visible_to(user), now=now)
    members = team_members(user)
    groups = team_groups(user)
    group = _chosen_group(request, groups)
    if group is not None:
        members = members.filter(Q(pk=group.pk) | Q(mentor=group))
    members_page = Paginator(members, MEMBERS_PER_PAGE).get_page(request.GET.get("members_page"))
    members_page.object_list = team_member_figures(
        list(members_page.object_list), today=today, now=now
    )
    return {
        "today": today,
        "members": members_page,
        "groups": groups,
        "group": group,
        "refusals": Paginator(refusals_awaiting(user), ROWS_PER_PAGE).get_page(
            request.GET.get("refusals_page")
        ),
        "overdue": Paginator(overdue, ROWS_PER_PAGE).get_page(request.GET.get("overdue_page")),
        "can_manage_staff": user.can(Capability.STAFF_MANAGE),
        # SPEC §16: whoever reads the planner is warned here when a hire-by month has come.
        "hiring_due": hiring_warning(today) if user.can(Capability.PLANNER_VIEW) else None,
    }
