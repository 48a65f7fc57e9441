"""The director's return funnel (SPEC §3.3; §4 return rate), shown on the lost-client queue.

The queue page lives in ``retention``, below ``kpi``: it shows this block through the
``{% return_funnel %}`` tags of ``kpi_blocks``, and ``return_funnel_for`` decides who sees it. The
counts are three aggregate queries over lost cases; every rate comes from ``kpi.metrics``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, Q
from django.db.models.functions import TruncMonth

from core.dates import add_months
from kpi.metrics import claim_rate, conversion, free_month_rate, return_rate
from retention.models import CaseStatus, LostCase
from staff.models import Capability, User

FUNNEL_MONTHS = 12


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
        return claim_rate(self.claimed, self.lost)

    @property
    def free_month_rate(self) -> float | None:
        return free_month_rate(self.free_month, self.claimed)

    @property
    def conversion(self) -> float | None:
        """Returned of the cases lost this month."""
        return conversion(self.returned, self.lost)

    @property
    def return_rate(self) -> float | None:
        return return_rate(self.closed_returned, self.closed_declined)


def return_funnel_by_month(
    *, today: datetime.date, months: int = FUNNEL_MONTHS
) -> list[FunnelMonth]:
    """The last ``months`` calendar months up to ``today``'s, newest first, with zero rows for
    months without cases. Two aggregate queries: one by the month of the loss, one by the month
    the case closed."""
    first = add_months(today, -(months - 1))
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
        month = add_months(today, -offset)
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
        return return_rate(self.returned, self.declined)


def return_rate_by_return_manager(
    *, today: datetime.date, months: int = FUNNEL_MONTHS
) -> list[ReturnerRate]:
    """Per return manager, best rate first; one aggregate query."""
    first = add_months(today, -(months - 1))
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


@dataclass(frozen=True)
class ReturnFunnel:
    """The queue page's funnel block: the months, the return managers and the department."""

    months: list[FunnelMonth]
    returners: list[ReturnerRate]
    total: ReturnerRate


def return_funnel_for(user: User, *, today: datetime.date) -> ReturnFunnel | None:
    """The funnel block as ``user`` sees it on the queue page: the department's figures for the
    director (``Capability.KPI_DEPARTMENT``), nothing for a return manager or anyone else (no
    query either)."""
    if not user.can(Capability.KPI_DEPARTMENT):
        return None
    months = return_funnel_by_month(today=today)
    returners = return_rate_by_return_manager(today=today)
    return ReturnFunnel(months=months, returners=returners, total=return_rate_total(returners))
