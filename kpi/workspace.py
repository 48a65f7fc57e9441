"""The KPI block of a manager's workspace (SPEC §6 /my/, hook ``my-kpis``): their live book figures
and their SPEC §4 figures from the stored snapshots. The workspace page lives in ``clients``, below
``kpi``; it shows this block through the ``{% my_kpis %}`` tag of ``kpi_workspace``."""

from __future__ import annotations

import datetime

from django.conf import settings

from clients.selectors import manager_book_figures, referrals_recorded
from core.dates import add_months
from core.ratios import percent
from kpi.metrics import book_growth
from kpi.models import Scope
from kpi.selectors import kpi_series


def workspace_kpis(user, *, today: datetime.date) -> dict:
    """The manager's live book figures, and their SPEC §4 figures from the stored snapshots: the
    latest computed month, the 12 months ending with it, and the book growth over those 12
    months (base_end now against base_end a year earlier; no snapshot row reads as zero)."""
    month = today.replace(day=1)
    rows = {
        row.month: row
        for row in kpi_series(
            scope=Scope.MANAGER,
            scope_id=user.pk,
            month_from=add_months(month, -24),
            month_to=month,
        )
    }
    latest = rows[max(rows)] if rows else None
    figures = manager_book_figures(user, today=today)
    kpis = {
        "book": figures,
        "capacity": user.capacity,
        "load_pct": percent(figures["served"], user.capacity),
        "cadence_pct": percent(figures["in_time"], figures["active"]),
        "cadence_days": settings.CONTACT_CADENCE_DAYS,
        "referrals_recorded": referrals_recorded(user, since=month),
        "snapshot": latest,
    }
    if latest is not None:
        year = [rows.get(add_months(latest.month, -i)) for i in range(12)]
        year_ago = rows.get(add_months(latest.month, -12))
        base_then = year_ago.base_end if year_ago else 0
        kpis |= {
            "churn_pct": latest.annual_churn_rate * 100,
            "churned_12m": sum(row.churned for row in year if row),
            "referrals_12m": sum(row.new_referral for row in year if row),
            "base_then": base_then,
            "growth": latest.base_end - base_then,
            # The whole change of the book, handovers included: what the manager sees grow.
            "growth_pct": _as_percent(book_growth(base_then, latest.base_end)),
        }
    return {"kpi": kpis}


def _as_percent(fraction: float | None) -> float | None:
    return None if fraction is None else fraction * 100
