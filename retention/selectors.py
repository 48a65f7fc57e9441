"""Reads of lost cases: the queue, the picker, and who may open which case."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db.models import Case, Count, OuterRef, Q, Subquery, Value, When
from django.shortcuts import get_object_or_404

from clients.models import (
    ClientRequest,
    Contact,
    Contract,
    ContractKind,
    Interaction,
    RequestStatus,
)
from clients.selectors import manager_loads, tasks_due_for
from retention.access import cases_in_queue_for, cases_visible_to
from retention.models import ACTIVE_CASE_STATUSES, CaseStatus, LostCase
from staff.models import Role, User


def lost_cases_queue():
    """Open cases first by the monthly fee lost, then the most recent loss."""
    return LostCase.objects.filter(status__in=ACTIVE_CASE_STATUSES).order_by(
        "-lost_fee", "-lost_on", "pk"
    )


def agreed_return_latest(case: LostCase) -> datetime.date | None:
    """The furthest day a return may be agreed from (SPEC §3.3, §10): the day after the case's
    free month ends; None when the case is not in a free month."""
    if case.status != CaseStatus.FREE_MONTH or case.free_month_contract is None:
        return None
    return case.free_month_contract.ends_on + datetime.timedelta(days=1)


def return_candidates(case: LostCase):
    """Active client managers for the return picker, least loaded first, never ``lost_by``."""
    return manager_loads(User.objects.book_keepers().exclude(pk=case.lost_by_id))


# --- the lost-client pages (SPEC §3.3, §6) --------------------------------------------------

# A case whose return window ends within this many days is flagged in the queue.
WINDOW_ENDING_DAYS = 14


def lost_cases_queue_for(user: User):
    """SPEC §3.3 queue as ``user`` sees it: the cases they may open (``retention.access.cases_in_queue_for``), the
    return manager's own cases in work on top, then the highest lost fee and the most recent
    loss. Rows carry their client, the manager who lost it and the return manager."""
    own = Q(return_manager=user, status__in=[CaseStatus.CLAIMED, CaseStatus.FREE_MONTH])
    return (
        cases_in_queue_for(user)
        .select_related("client", "lost_by", "return_manager", "free_month_contract")
        .annotate(own_first=Case(When(own, then=Value(0)), default=Value(1)))
        .order_by("own_first", "-lost_fee", "-lost_on", "pk")
    )


def case_window_days(case: LostCase, *, today: datetime.date) -> LostCase:
    """Set ``days_since_loss`` and ``days_left`` (RETURN_WINDOW_DAYS − days since the loss) on
    ``case``: plain arithmetic on loaded rows, no query."""
    case.days_since_loss = (today - case.lost_on).days
    case.days_left = settings.RETURN_WINDOW_DAYS - case.days_since_loss
    case.window_ending = case.days_left <= WINDOW_ENDING_DAYS
    return case


def lost_cases_summary(user: User, *, today: datetime.date) -> dict[str, int]:
    """The tiles above the queue, in one aggregate query: unclaimed cases, cases in work (the
    return manager's own; every one for the director), and of the cases ``user`` may open the
    ones whose window ends within WINDOW_ENDING_DAYS; plus the two windows themselves."""
    cases = cases_in_queue_for(user).filter(status__in=ACTIVE_CASE_STATUSES)
    in_work = Q(status__in=[CaseStatus.CLAIMED, CaseStatus.FREE_MONTH])
    if user.role != Role.DIRECTOR:
        in_work &= Q(return_manager=user)
    ending_from = today - datetime.timedelta(days=settings.RETURN_WINDOW_DAYS - WINDOW_ENDING_DAYS)
    counts = cases.aggregate(
        unclaimed=Count("pk", filter=Q(status=CaseStatus.OPEN)),
        in_work=Count("pk", filter=in_work),
        window_ending=Count("pk", filter=Q(lost_on__lte=ending_from)),
    )
    return {
        **counts,
        "window_days": settings.RETURN_WINDOW_DAYS,
        "ending_days": WINDOW_ENDING_DAYS,
    }


def lost_case_for_page(user: User, pk: int) -> LostCase:
    """The case page's case, with what its header shows; 404 outside ``retention.access.cases_visible_to``."""
    return get_object_or_404(
        cases_visible_to(user).select_related(
            "client",
            "client__manager",
            "lost_by",
            "return_manager",
            "new_manager",
            "free_month_contract",
            "agreed_manager",
            "agreed_by",
        ),
        pk=pk,
    )


CASE_PAGE_INTERACTIONS = 30


def lost_case_history(case: LostCase) -> dict:
    """Everything the return manager reads before calling (SPEC §3.3): the client's contacts,
    contracts, the latest calls, the requests that were refused or are waiting for a refusal,
    and the audit trail of the case. A fixed number of queries whatever the client's history."""
    client = case.client
    refused = ClientRequest.objects.filter(
        client=client, status__in=[RequestStatus.REFUSED, RequestStatus.REFUSAL_PENDING]
    )
    contracts = list(Contract.objects.filter(client=client).order_by("-starts_on", "-pk"))
    last_day = case.lost_on - datetime.timedelta(days=1)
    return {
        "contacts": list(
            Contact.objects.filter(client=client).order_by("-is_decision_maker", "name")
        ),
        "contracts": contracts,
        # The paid contract that ended the day before the loss: its reason and comment say why.
        "lost_contract": next(
            (c for c in contracts if c.kind == ContractKind.PAID and c.ends_on == last_day), None
        ),
        "interactions": list(
            Interaction.objects.filter(client=client)
            .select_related("staff")
            .order_by("-occurred_at", "-pk")[:CASE_PAGE_INTERACTIONS]
        ),
        "refused_requests": list(
            refused.select_related("logged_by", "refusal_approved_by").order_by("-opened_at")
        ),
        "case_history": list(
            LostCase.history.filter(id=case.pk)
            .select_related("history_user")
            .order_by("-history_date", "-history_id")
        ),
        "earlier_cases": list(
            LostCase.objects.filter(client=client).exclude(pk=case.pk).order_by("-lost_on")
        ),
    }


# --- the return manager's workspace /my/ (SPEC §11) -------------------------------------------

# Rows per list of the workspace; each list says how many there are in all.
WORKSPACE_ROWS = 20


def _held_cases(user: User):
    return LostCase.objects.filter(return_manager=user)


# A free month ending is given to the return manager 3 days ahead (SPEC §11): the workspace
# lists the tasks of those days too, not only the ones due today.
TASKS_AHEAD_DAYS = 3


def return_manager_tasks(user: User, *, today: datetime.date):
    """``user``'s open tasks due within TASKS_AHEAD_DAYS or earlier, oldest first
    (``clients.selectors.tasks_due_for``), each with the case of its client that ``user`` works
    (``case_id``) and the day its return is agreed from (``case_agreed_from``), so a task that
    closes itself can say what must happen instead and link to where it happens."""
    held = (
        _held_cases(user)
        .filter(
            client=OuterRef("client_id"), status__in=[CaseStatus.CLAIMED, CaseStatus.FREE_MONTH]
        )
        .order_by("-pk")
    )
    due_by = today + datetime.timedelta(days=TASKS_AHEAD_DAYS)
    return tasks_due_for(user, today=due_by).annotate(
        case_id=Subquery(held.values("pk")[:1]),
        case_agreed_from=Subquery(held.values("agreed_starts_on")[:1]),
    )


def free_months_ending(user: User):
    """``user``'s cases in a free month, the one ending soonest first (an agreed return is
    flagged on its row: it needs no more persuading)."""
    return (
        _held_cases(user)
        .filter(status=CaseStatus.FREE_MONTH, free_month_contract__isnull=False)
        .select_related("client", "free_month_contract", "agreed_manager")
        .order_by("free_month_contract__ends_on", "pk")
    )


def returns_due(user: User, *, today: datetime.date):
    """SPEC §3.3: ``user``'s agreed returns that take effect today — carried out by the night's
    run, or still waiting for it — and any earlier one still not carried out (its reason is on
    the case). Those still to happen first, the earliest day first; then the ones done."""
    return (
        _held_cases(user)
        .filter(
            Q(agreed_starts_on=today, status__in=[CaseStatus.FREE_MONTH, CaseStatus.RETURNED])
            | Q(agreed_starts_on__lt=today, status=CaseStatus.FREE_MONTH)
        )
        .select_related("client", "agreed_manager")
        .annotate(done=Case(When(status=CaseStatus.RETURNED, then=Value(1)), default=Value(0)))
        .order_by("done", "agreed_starts_on", "pk")
    )


# The stages of a return manager's cases in work, in the order of the workflow.
STAGE_CLAIMED = "claimed"
STAGE_FREE_MONTH = "free_month"
STAGE_AGREED = "agreed"
_STAGES = {
    STAGE_CLAIMED: Q(status=CaseStatus.CLAIMED),
    STAGE_FREE_MONTH: Q(status=CaseStatus.FREE_MONTH, agreed_starts_on__isnull=True),
    STAGE_AGREED: Q(status=CaseStatus.FREE_MONTH, agreed_starts_on__isnull=False),
}
_STAGE_ORDER = {
    # The return window runs out first for the oldest loss.
    STAGE_CLAIMED: ("lost_on", "pk"),
    STAGE_FREE_MONTH: ("free_month_contract__ends_on", "pk"),
    STAGE_AGREED: ("agreed_starts_on", "pk"),
}


def cases_by_stage(user: User, *, rows: int = WORKSPACE_ROWS) -> dict[str, dict]:
    """``user``'s cases in work by stage — claimed, in a free month, return agreed — each with
    its count (one aggregate query) and its first ``rows`` cases in the order they need work."""
    cases = _held_cases(user)
    counts = cases.aggregate(**{stage: Count("pk", filter=q) for stage, q in _STAGES.items()})
    related = ("client", "free_month_contract", "agreed_manager")
    return {
        stage: {
            "count": counts[stage],
            "cases": list(
                cases.filter(q).select_related(*related).order_by(*_STAGE_ORDER[stage])[:rows]
            )
            if counts[stage]
            else [],
        }
        for stage, q in _STAGES.items()
    }


def with_days_left(cases, *, today: datetime.date) -> list[LostCase]:
    """The cases with ``days_left`` set: days from ``today`` to the last day of the free month
    (0 on that day, negative once it has ended). Arithmetic on loaded rows, no query."""
    cases = list(cases)
    for case in cases:
        case.days_left = (case.free_month_contract.ends_on - today).days
    return cases
