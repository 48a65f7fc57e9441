"""Reads of lost cases: the queue, the picker, and who may open which case."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Case, Count, Q, Value, When
from django.db.models.functions import TruncMonth
from django.shortcuts import get_object_or_404

from clients.models import (
    ClientRequest,
    Contact,
    Contract,
    ContractKind,
    Interaction,
    RequestStatus,
)
from clients.selectors import manager_loads
from retention.access import cases_in_queue_for, cases_visible_to
from retention.models import ACTIVE_CASE_STATUSES, CaseStatus, LostCase
from staff.models import Role, User


def lost_cases_queue():
    """Open cases first by the monthly fee lost, then the most recent loss."""
    return LostCase.objects.filter(status__in=ACTIVE_CASE_STATUSES).order_by(
        "-lost_fee", "-lost_on", "pk"
    )


def return_candidates(case: LostCase):
    """Active client managers for the return picker, least loaded first, never ``lost_by``."""
    return manager_loads(User.objects.book_keepers().exclude(pk=case.lost_by_id))


# --- the lost-client pages (SPEC §3.3, §6) --------------------------------------------------

# A case whose return window ends within this many days is flagged in the queue.
WINDOW_ENDING_DAYS = 14
FUNNEL_MONTHS = 12


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


# --- the director's return funnel (SPEC §3.3, §4 return rate) -------------------------------


def _months_back(today: datetime.date, months: int) -> datetime.date:
    """The first day of the month ``months − 1`` months before ``today``'s month."""
    index = today.year * 12 + today.month - 1 - (months - 1)
    return datetime.date(index // 12, index % 12 + 1, 1)


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class FunnelMonth:
    """One month of the return funnel.

    The cohort columns count the cases lost in ``month`` by the furthest stage each reached so
    far (claimed, free month) and by how it ended (returned, declined; the rest are still open).
    The closing columns are SPEC §4's return rate: cases closed in ``month`` as returned over all
    cases closed in it."""

    month: datetime.date
    lost: int
    claimed: int
    free_month: int
    returned: int
    declined: int
    still_open: int
    closed_returned: int
    closed_declined: int

    @property
    def claim_rate(self) -> float | None:
        return _rate(self.claimed, self.lost)

    @property
    def free_month_rate(self) -> float | None:
        return _rate(self.free_month, self.claimed)

    @property
    def conversion(self) -> float | None:
        """Returned of the cases lost this month."""
        return _rate(self.returned, self.lost)

    @property
    def return_rate(self) -> float | None:
        return _rate(self.closed_returned, self.closed_returned + self.closed_declined)


def return_funnel_by_month(
    *, today: datetime.date, months: int = FUNNEL_MONTHS
) -> list[FunnelMonth]:
    """The last ``months`` calendar months up to ``today``'s, newest first, with zero rows for
    months without cases. Two aggregate queries: one by the month of the loss, one by the month
    the case closed."""
    first = _months_back(today, months)
    cohorts = {
        row["month"]: row
        for row in LostCase.objects.filter(lost_on__gte=first, lost_on__lte=today)
        .annotate(month=TruncMonth("lost_on"))
        .values("month")
        .annotate(
            lost=Count("pk"),
            claimed=Count("pk", filter=Q(claimed_at__isnull=False)),
            free_month=Count("pk", filter=Q(free_month_contract__isnull=False)),
            returned=Count("pk", filter=Q(status=CaseStatus.RETURNED)),
            declined=Count("pk", filter=Q(status=CaseStatus.DECLINED)),
        )
        .order_by()
    }
    closings = {
        row["month"]: row
        for row in LostCase.objects.filter(closed_on__gte=first, closed_on__lte=today)
        .annotate(month=TruncMonth("closed_on"))
        .values("month")
        .annotate(
            returned=Count("pk", filter=Q(status=CaseStatus.RETURNED)),
            declined=Count("pk", filter=Q(status=CaseStatus.DECLINED)),
        )
        .order_by()
    }
    rows = []
    for offset in range(months):
        month = _months_back(today, offset + 1)
        cohort = cohorts.get(month, {})
        closing = closings.get(month, {})
        lost = cohort.get("lost", 0)
        returned, declined = cohort.get("returned", 0), cohort.get("declined", 0)
        rows.append(
            FunnelMonth(
                month=month,
                lost=lost,
                claimed=cohort.get("claimed", 0),
                free_month=cohort.get("free_month", 0),
                returned=returned,
                declined=declined,
                still_open=lost - returned - declined,
                closed_returned=closing.get("returned", 0),
                closed_declined=closing.get("declined", 0),
            )
        )
    return rows


@dataclass(frozen=True)
class ReturnerRate:
    """A return manager's cases closed over the trailing 12 months (SPEC §4 return rate), and
    the cases they hold now. ``manager`` None gathers the cases nobody claimed: clients that came
    back by themselves, and windows that ran out unclaimed."""

    manager_id: int | None
    manager_name: str
    returned: int
    declined: int
    in_work: int

    @property
    def closed(self) -> int:
        return self.returned + self.declined

    @property
    def return_rate(self) -> float | None:
        return _rate(self.returned, self.closed)


def return_rate_by_return_manager(
    *, today: datetime.date, months: int = FUNNEL_MONTHS
) -> list[ReturnerRate]:
    """Per return manager, best rate first; one aggregate query."""
    first = _months_back(today, months)
    closed = Q(closed_on__gte=first, closed_on__lte=today)
    in_work = Q(status__in=[CaseStatus.CLAIMED, CaseStatus.FREE_MONTH])
    rows = (
        LostCase.objects.filter(closed | in_work)
        .values("return_manager", "return_manager__full_name", "return_manager__username")
        .annotate(
            returned=Count("pk", filter=closed & Q(status=CaseStatus.RETURNED)),
            declined=Count("pk", filter=closed & Q(status=CaseStatus.DECLINED)),
            in_work=Count("pk", filter=in_work),
        )
        .order_by()
    )
    rates = [
        ReturnerRate(
            manager_id=row["return_manager"],
            manager_name=row["return_manager__full_name"] or row["return_manager__username"] or "",
            returned=row["returned"],
            declined=row["declined"],
            in_work=row["in_work"],
        )
        for row in rows
    ]
    # Named managers by rate, then by volume; the unclaimed row last.
    return sorted(
        rates,
        key=lambda r: (
            r.manager_id is None,
            -(r.return_rate if r.return_rate is not None else -1),
            -r.closed,
            r.manager_name,
        ),
    )


def return_rate_total(rates: list[ReturnerRate]) -> ReturnerRate:
    """The department's line under the per-manager table: the sums of ``rates``."""
    return ReturnerRate(
        manager_id=None,
        manager_name="",
        returned=sum(r.returned for r in rates),
        declined=sum(r.declined for r in rates),
        in_work=sum(r.in_work for r in rates),
    )
