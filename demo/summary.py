"""The figures seed_demo prints: the SPEC §4 headline KPIs of the seeded company.

They are read back from the database by the KPI engine's own selector and computed by its own
metrics, so they are the figures the dashboard shows once the snapshots are computed.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from core.dates import add_months
from core.ratios import ratio
from kpi.metrics import COLUMNS, SCOPE_DEPARTMENT, kpi_table, kpi_table_records
from kpi.selectors import base_on, kpi_history_rows


@dataclass(frozen=True)
class DemoKpis:
    """The department's SPEC §4 headline figures over the last 12 complete months."""

    month: datetime.date  # the last complete month (its first day)
    base_today: int
    base_year_ago: int  # at the end of the month before the 12
    churned_12m: int
    churned_natural_12m: int
    annual_churn: float
    natural_share: float | None  # of the clients lost in the 12 months; None without losses
    referrals_per_month: float
    cases_returned_12m: int
    cases_declined_12m: int
    return_rate_12m: float
    # The 12 department rows themselves, oldest first, with money in roubles: the growth
    # planner's history (kpi.planning.defaults_from_history).
    months: tuple[dict, ...] = ()


def demo_kpis(*, today: datetime.date) -> DemoKpis:
    """Annual churn, referral clients a month and the 12-month return rate of the 12 complete
    months before ``today``'s month, and the base today."""
    month = add_months(today, -1)
    table = kpi_table(kpi_history_rows(), month_from=add_months(month, -11), month_to=month)
    months = [
        dict(zip(COLUMNS, record, strict=True))
        for record in kpi_table_records(table)
        if record[COLUMNS.index("scope")] == SCOPE_DEPARTMENT
    ]
    last = months[-1]

    def total(name: str) -> int:
        return sum(row[name] for row in months)

    return DemoKpis(
        month=month,
        base_today=base_on(today)[0],
        base_year_ago=months[0]["base_start"],
        churned_12m=total("churned"),
        churned_natural_12m=total("churned_natural"),
        annual_churn=last["annual_churn_rate"],
        natural_share=ratio(total("churned_natural"), total("churned")),
        referrals_per_month=total("new_referral") / 12,
        cases_returned_12m=total("cases_returned"),
        cases_declined_12m=total("cases_declined"),
        return_rate_12m=last["return_rate_12m"],
        months=tuple(
            {**row, "mrr_start": row["mrr_start"] / 100, "mrr_end": row["mrr_end"] / 100}
            for row in months
        ),
    )
