"""What every Celery task shares: which errors are worth a retry, how task arguments (ISO
strings, so that a message stays readable JSON) become dates, and the guard against a message
that kills its worker on every delivery."""

from __future__ import annotations

import datetime
import importlib
import logging
import uuid
from collections.abc import Callable, Sequence
from contextlib import contextmanager

from celery import Task, shared_task
from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError

from core.errors import QueueUnavailable
from core.models import JobOutcome, JobRun

logger = logging.getLogger(__name__)

# What sending a task raises when Redis is down or frozen: the broker's error after its publish
# retry, a socket error, or the result backend giving up its reconnect loop (a RuntimeError).
SEND_ERRORS = (BrokerError, RedisError, OSError, RuntimeError)

# Only errors that a later attempt can cure: the database restarting, a dropped connection, a
# SQLite writer holding the lock. A bug or bad data fails at once and shows in the logs.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)

# A task still unfinished this long after it started is no longer running anywhere: its hard time
# limit has ended it, or its worker is gone. Work it left marked "running" may be taken over.
TASK_HARD_LIMIT = datetime.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)

RETRY_TRANSIENT = {
    "autoretry_for": TRANSIENT_ERRORS,
    "max_retries": 3,
    "retry_backoff": 10,
    "retry_backoff_max": 120,
    "retry_jitter": True,
}


def iso_date(value: str | None) -> datetime.date | None:
    return datetime.date.fromisoformat(value) if value else None


def iso_datetime(value: str | None) -> datetime.datetime | None:
    """An ISO timestamp; one without an offset is read as local time."""
    if not value:
        return None
    moment = datetime.datetime.fromisoformat(value)
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


# Background jobs (the nightly chain, a KPI recompute, the demo seed) may run longer than a web
# request's statement timeout (RELIABILITY R31); they raise it for their own connection, and let
# their own transaction stay open while Python prepares the next batch.
BACKGROUND_STATEMENT_TIMEOUT_MS = 30 * 60 * 1000
BACKGROUND_LOCK_TIMEOUT_MS = 5 * 60 * 1000


@contextmanager
def background_db_timeouts(
    *,
    statement_ms: int = BACKGROUND_STATEMENT_TIMEOUT_MS,
    lock_ms: int = BACKGROUND_LOCK_TIMEOUT_MS,
):
    """Longer PostgreSQL timeouts for this connection while the block runs, then the defaults
    of the connection again; nothing on SQLite."""
    from django.db import connection

    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('statement_timeout', %s, false),"
            " set_config('lock_timeout', %s, false),"
            " set_config('idle_in_transaction_session_timeout', '0', false)",
            [str(statement_ms), str(lock_ms)],
        )
    try:
        yield
    finally:
        if connection.connection is not None and not connection.needs_rollback:
            with connection.cursor() as cursor:
                cursor.execute(
                    "RESET statement_timeout; RESET lock_timeout;"
                    " RESET idle_in_transaction_session_timeout"
                )


# --- at-least-once delivery (RELIABILITY R35) -------------------------------------------------
# A message is acknowledged only when its task ends (acks_late). If the worker process dies
# mid-task (kill -9, out of memory), an idempotent task is put back on the queue and runs again;
# a task whose every run kills its worker would loop for ever, so each delivery is counted and
# the task gives up after MAX_DELIVERIES.
MAX_DELIVERIES = 3
DELIVERY_COUNT_TTL = 24 * 60 * 60
DELIVERY_KEY_PREFIX = "crm:task-deliveries"


class TaskGaveUp(Exception):
    """A task was delivered more often than its limit without ever finishing: every run so far
    ended with its worker process dying."""


def delivery_key(task_id: str, retries: int = 0) -> str:
    """The counter of one attempt: a retry is a new message, so it starts its own count."""
    return f"{DELIVERY_KEY_PREFIX}:{task_id}:{retries}"


def _delivery_count(key: str) -> int:
    """This delivery's number (1 for the first). Without a reachable cache the guard steps aside
    (1): the broker lives on the same Redis, so nothing is being redelivered then anyway."""
    from django.core.cache import cache

    try:
        cache.add(key, 0, DELIVERY_COUNT_TTL)
        return cache.incr(key)
    except (RedisError, OSError, ValueError) as exc:
        logger.warning("Delivery count of %s unavailable: %s", key, exc)
        return 1


def _delivery_forget(key: str) -> None:
    from django.core.cache import cache

    try:
        cache.delete(key)
    except (RedisError, OSError) as exc:
        logger.warning("Delivery count of %s not cleared: %s", key, exc)


class GuardedTask(Task):
    """The base of every project task: late acknowledgement plus a delivery counter.

    Each delivery of a message increments a counter in the cache (Redis in production), keyed by
    task id and retry number, before the task body runs. A run that ends in any way the worker
    survives (a result, an exception, a retry) clears the counter; only a worker killed mid-task
    leaves it. The delivery after ``max_deliveries`` fails with ``TaskGaveUp`` without running
    the body, so the message is acknowledged and the loop ends, with an error in the log.

    ``reject_on_worker_lost`` (put the message back when the worker dies) is decided per task:
    only a task that is safe to run twice may set it.
    """

    acks_late = True
    max_deliveries = MAX_DELIVERIES

    def __call__(self, *args, **kwargs):
        task_id = self.request.id
        if not task_id:  # called as a plain function, not delivered by Celery
            return super().__call__(*args, **kwargs)
        key = delivery_key(task_id, self.request.retries or 0)
        deliveries = _delivery_count(key)
        if deliveries > self.max_deliveries:
            _delivery_forget(key)
            logger.error(
                "Task %s[%s] gave up: delivered %d times, its worker died every time.",
                self.name,
                task_id,
                deliveries - 1,
            )
            raise TaskGaveUp(f"{self.name}[{task_id}] delivered {deliveries - 1} times")
        try:
            return super().__call__(*args, **kwargs)
        finally:
            _delivery_forget(key)


def idempotent_task(**options):
    """``shared_task`` for a task that may safely run twice: it is guarded, retried on transient
    errors only, and redelivered when its worker dies mid-run (``reject_on_worker_lost``)."""
    return shared_task(
        base=GuardedTask,
        acks_late=True,
        reject_on_worker_lost=True,
        **RETRY_TRANSIENT,
        **options,
    )


# --- claims of periodic jobs (RELIABILITY R36): a job runs once per period, whatever beat does --


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


# --- queueing from web code ---------------------------------------------------------------------


def enqueue_on_commit(
    task_name: str,
    *,
    args: Sequence = (),
    kwargs: dict | None = None,
    task_id: str | None = None,
    unavailable: str,
    on_unavailable: Callable[[], None] | None = None,
) -> str:
    """Send ``task_name`` once the current transaction commits (the worker must find the rows it
    reads) and return its task id at once. When Redis cannot take the job, run
    ``on_unavailable`` (e.g. mark a job row failed) and raise ``QueueUnavailable(unavailable)``
    within a few seconds (the broker's socket timeouts in settings) instead of hanging the
    request. The task is named, not imported, so a module that queues a task never imports the
    module that defines it (STYLE: no import cycles)."""
    task_id = task_id or str(uuid.uuid4())

    def send() -> None:
        # Imported by its dotted name when sent: the web process never loads Celery's task
        # autodiscovery, so the registry alone may not know the task yet.
        module_name, _dot, attribute = task_name.rpartition(".")
        task = getattr(importlib.import_module(module_name), attribute)
        if task.app.conf.task_always_eager:
            task.apply_async(args=args, kwargs=kwargs, task_id=task_id)
            return
        try:
            task.apply_async(args=args, kwargs=kwargs, task_id=task_id)
        except SEND_ERRORS as exc:
            logger.warning("Task %s not queued: %s", task_name, exc)
            if on_unavailable is not None:
                on_unavailable()
            raise QueueUnavailable(unavailable) from exc

    transaction.on_commit(send)
    return task_id
