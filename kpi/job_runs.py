"""Claims of periodic jobs (RELIABILITY R36): a job runs once per period, whatever beat does."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from crm.task_support import TASK_HARD_LIMIT
from kpi.models import JobOutcome, JobRun


def job_run_claim(job: str, period: str, *, task_id: str | None) -> JobRun | None:
    """Claim ``job`` for ``period`` and return the claimed row, or None when the period is
    already taken.

    The unique (job, period) row decides between two schedulers. The row is taken over instead
    by the same message delivered again (its worker died mid-run: same task id, still running),
    by any run after a failed one, and by any run once a "running" one is older than the task
    time limit, so a crash or a failure never blocks the period for good.
    """
    now = timezone.now()
    try:
        with transaction.atomic():
            return JobRun.objects.create(
                job=job, period=period, task_id=task_id or "", started_at=now
            )
    except IntegrityError:
        pass
    # A run still "running" past the task's hard time limit can no longer be alive: its worker
    # died and the message was lost or given up on.
    abandoned = Q(outcome=JobOutcome.RUNNING, started_at__lt=now - TASK_HARD_LIMIT)
    takeover = Q(outcome=JobOutcome.FAILED) | abandoned
    if task_id:
        takeover |= Q(outcome=JobOutcome.RUNNING, task_id=task_id)
    # One conditional UPDATE: of two runs taking over at once, one changes the row.
    taken = JobRun.objects.filter(takeover, job=job, period=period).update(
        task_id=task_id or "",
        outcome=JobOutcome.RUNNING,
        started_at=now,
        finished_at=None,
        result={},
    )
    return JobRun.objects.get(job=job, period=period) if taken else None


def job_run_finish(run: JobRun, *, outcome: str, result: dict | None = None) -> None:
    run.outcome = outcome
    run.result = result or {}
    run.finished_at = timezone.now()
    run.save(update_fields=["outcome", "result", "finished_at"])
