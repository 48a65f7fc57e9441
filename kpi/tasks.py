"""Celery tasks of the KPI engine, and the one way web code queues a recompute (SPEC §5)."""

from __future__ import annotations

import datetime
import logging

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from core.tasks import background_db_timeouts, enqueue_on_commit, idempotent_task, iso_date
from kpi.services import kpi_snapshots_recompute

logger = logging.getLogger(__name__)


@idempotent_task(bind=True)
def kpi_recompute_task(self, month_from: str | None = None, month_to: str | None = None) -> dict:
    """Recompute the snapshots of the months in range (default: all). The state is PROGRESS
    while it runs, so the dashboard can show that a recompute is under way.

    Idempotent: the range's rows are replaced in one transaction under the snapshot's unique
    (month, scope, scope id), so a delivery lost with its worker is redelivered."""
    self.update_state(
        state="PROGRESS",
        meta={"stage": "computing", "month_from": month_from, "month_to": month_to},
    )
    # A recompute may wait on another one's lock and scan every contract: background limits.
    with background_db_timeouts():
        rows = kpi_snapshots_recompute(month_from=iso_date(month_from), month_to=iso_date(month_to))
    return {"rows": rows, "month_from": month_from, "month_to": month_to}


def enqueue_kpi_recompute(
    *, month_from: datetime.date | None = None, month_to: datetime.date | None = None
) -> str:
    """Queue a recompute once the current transaction commits; return the task id at once (the
    API answers 202 with it). When Redis cannot take the job, raise ``QueueUnavailable`` within
    a few seconds (the broker and result backend socket timeouts in settings) instead of
    hanging the request."""
    if month_from and month_to and month_from.replace(day=1) > month_to.replace(day=1):
        raise ValidationError({"month_from": _("The first month is after the last month.")})
    kwargs = {
        "month_from": month_from.isoformat() if month_from else None,
        "month_to": month_to.isoformat() if month_to else None,
    }
    return enqueue_on_commit(
        kpi_recompute_task.name,
        kwargs=kwargs,
        unavailable=_(
            "The task queue is unavailable; the figures shown may be stale. Try again later."
        ),
    )
