"""The figures seed_demo prints: the SPEC §4 headline KPIs of the seeded company."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from clients.models import NATURAL_REASONS, AcquisitionChannel, ContractKind
from core.dates import ONE_DAY, add_months, month_end
from demo.simulation import coverage, covers
from retention.models import CaseStatus


@dataclass(frozen=True)
class DemoKpis:
    """The SPEC §4 headline figures over the last 12 complete months."""

    month: datetime.date  # the last complete month (its first day)
    base_today: int
    base_year_ago: int
    churned_12m: int
    churned_natural_12m: int
    annual_churn: float
    referrals_per_month: float
    cases_returned_12m: int
    cases_declined_12m: int
    return_rate_12m: float


def demo_kpis(
    *,
    contracts: Iterable[tuple[int, str, datetime.date, datetime.date | None, str]],
    channels: dict[int, str],
    cases: Iterable[tuple[str, datetime.date | None]],
    today: datetime.date,
) -> DemoKpis:
    """SPEC §4 annual churn, referrals a month and 12-month return rate, counted straight from
    contract rows ``(client_id, kind, starts_on, ends_on, termination_reason)`` and case rows
    ``(status, closed_on)``, over the 12 complete months before ``today``'s month."""
    month = add_months(today, -1)
    window_first = add_months(month, -11)
    window_last = month_end(month)
    year_ago = window_first - ONE_DAY
    periods: dict[int, list[tuple[datetime.date, datetime.date | None, str]]] = {}
    for client_id, kind, starts_on, ends_on, reason in contracts:
        if kind == ContractKind.PAID:
            periods.setdefault(client_id, []).append((starts_on, ends_on, reason))
    base_today = base_year_ago = churned = natural = referrals = 0
    for client_id, rows in periods.items():
        for index, (start, end, reason) in enumerate(coverage(rows)):
            if covers(start, end, year_ago):
                base_year_ago += 1
            if covers(start, end, today):
                base_today += 1
            if end is not None and window_first <= end + ONE_DAY <= window_last:
                churned += 1
                natural += reason in NATURAL_REASONS
            if (
                index == 0
                and channels.get(client_id) == AcquisitionChannel.REFERRAL
                and window_first <= start <= window_last
            ):
                referrals += 1
    returned = declined = 0
    for status, closed_on in cases:
        if closed_on is not None and window_first <= closed_on <= window_last:
            returned += status == CaseStatus.RETURNED
            declined += status == CaseStatus.DECLINED
    return DemoKpis(
        month=month,
        base_today=base_today,
        base_year_ago=base_year_ago,
        churned_12m=churned,
        churned_natural_12m=natural,
        annual_churn=churned / base_year_ago if base_year_ago else 0.0,
        referrals_per_month=referrals / 12,
        cases_returned_12m=returned,
        cases_declined_12m=declined,
        return_rate_12m=returned / (returned + declined) if returned + declined else 0.0,
    )


def company_kpis(company) -> DemoKpis:
    """``demo_kpis`` of a simulated company."""
    return demo_kpis(
        contracts=((c.client, c.kind, c.starts_on, c.ends_on, c.reason) for c in company.contracts),
        channels={c.id: c.channel for c in company.clients},
        cases=((case.status, case.closed_on) for case in company.cases),
        today=company.today,
    )
