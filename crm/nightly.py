"""The nightly chain (SPEC §5): one task running every nightly step in order, under a lock.

Each step is idempotent, so a retried or repeated night gives the same result; the lock only keeps
two overlapping runs (a slow night and a manual start, two beat processes by mistake) from
interleaving their steps, and a scheduled night claims its ``JobRun`` row, so a second beat
for the same night skips instead of running the chain again.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import secrets

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import DatabaseError
from django.utils import timezone

from clients.contact_signals import contact_signals_refresh
from clients.services import tasks_create_follow_ups, tasks_create_overdue_requests
from core.models import JobOutcome
from core.tasks import (
    background_db_timeouts,
    idempotent_task,
    iso_date,
    iso_datetime,
    job_run_claim,
    job_run_finish,
)
from kpi.services import kpi_snapshots_recompute
from retention.services import (
    clients_refresh_statuses,
    lost_cases_carry_out_agreed_returns,
    lost_cases_close_expired,
    tasks_create_free_month_ending,
)

logger = logging.getLogger(__name__)

NIGHTLY_JOB = "nightly-chain"
NIGHTLY_LOCK_KEY = "crm:nightly-chain:lock"
# A worker killed mid-run frees the lock when the run's hard time limit would have ended it.
NIGHTLY_LOCK_TIMEOUT = settings.CELERY_TASK_TIME_LIMIT
SKIPPED = "skipped"

# Compare-and-delete in one step: a run never deletes a lock that expired and was taken by
# another run meanwhile.
_RELEASE_SCRIPT = """
if redis.call("get", KEYS[1]) == ARGV[1] then
    return redis.call("del", KEYS[1])
end
return 0
"""


def lock_token(task_id: str | None) -> int:
    """The lock token of a task: the same for every delivery of one message, so a redelivery
    after its worker died can take back the lock that the dead run left behind."""
    if not task_id:
        return secrets.randbits(62)
    return int.from_bytes(hashlib.sha256(task_id.encode()).digest()[:8], "big") >> 2


def lock_acquire(key: str, *, timeout: int, token: int | None = None) -> int | None:
    """Take the lock at ``key`` (the cache: Redis in production, process memory embedded) and
    return its token, or None when another holder has it. A caller passing ``token`` also gets
    the lock back when that very token still holds it. The token is an integer because the
    Redis cache stores integers as plain strings, which the release script compares."""
    token = secrets.randbits(62) if token is None else token
    if cache.add(key, token, timeout):
        return token
    if cache.get(key) == token:
        cache.touch(key, timeout)
        return token
    return None


def lock_release(key: str, token: int) -> bool:
    """Release the lock at ``key`` if ``token`` still holds it; True when it did."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        client = backend._cache.get_client(key, write=True)
        raw_key = backend.make_and_validate_key(key)
        return bool(client.eval(_RELEASE_SCRIPT, 1, raw_key, str(token)))
    # Process-local cache: nothing else can run between the read and the delete.
    if cache.get(key) == token:
        cache.delete(key)
        return True
    return False


def nightly_chain_run(*, today: datetime.date, now: datetime.datetime) -> dict[str, int]:
    """SPEC §5, in order: statuses, the agreed returns whose day has come (before the return
    window is checked), expired cases, the three kinds of system tasks, statuses again when
    cases closed, then every month's KPI snapshots (a full recompute fits the nightly budget of
    SPEC §9, so no partial mode is needed). It first re-derives every client's contact signals,
    which heals anything written around the ORM since the last night."""
    contact_signals_refresh()
    done = {"statuses": clients_refresh_statuses(today=today)}
    done["agreed_returns"] = lost_cases_carry_out_agreed_returns(today=today)
    done["expired_cases"] = lost_cases_close_expired(today=today)
    done["follow_ups"] = tasks_create_follow_ups(today=today)
    done["overdue_requests"] = tasks_create_overdue_requests(now=now)
    done["free_month_ending"] = tasks_create_free_month_ending(today=today)
    if done["expired_cases"]:
        done["statuses"] += clients_refresh_statuses(today=today)
    done["kpi_snapshots"] = kpi_snapshots_recompute(today=today)
    return done


@idempotent_task(bind=True)
def nightly_chain_task(
    self, today: str | None = None, now: str | None = None
) -> dict[str, int] | str:
    """The beat schedule's 02:00 job. A run that finds the lock taken returns "skipped".

    A scheduled run (no ``today``) first claims the night's ``JobRun`` row and returns "skipped"
    when the night is already claimed: a second beat cannot run the chain twice. A run for a
    named night is a deliberate catch-up or re-run and only takes the lock.

    Idempotent (every step is), so it is redelivered when its worker dies mid-run: the
    redelivery takes back its own lock and its own claim.
    """
    token = lock_acquire(
        NIGHTLY_LOCK_KEY, timeout=NIGHTLY_LOCK_TIMEOUT, token=lock_token(self.request.id)
    )
    if token is None:
        logger.info("Nightly chain skipped: another run holds the lock.")
        return SKIPPED
    try:
        moment = iso_datetime(now) or timezone.now()
        day = iso_date(today) or timezone.localdate(moment)
        run = None
        if today is None:
            run = job_run_claim(NIGHTLY_JOB, day.isoformat(), task_id=self.request.id)
            if run is None:
                logger.info("Nightly chain skipped: the night of %s has already run.", day)
                return SKIPPED
        try:
            with background_db_timeouts():
                done = nightly_chain_run(today=day, now=moment)
        except Exception:
            if run is not None:
                _job_run_failed(run)
            raise
        if run is not None:
            job_run_finish(run, outcome=JobOutcome.DONE, result=done)
        logger.info("Nightly chain for %s done: %s", day, done)
        return done
    finally:
        if not lock_release(NIGHTLY_LOCK_KEY, token):
            logger.warning("Nightly chain lock had expired before the run ended.")


def _job_run_failed(run) -> None:
    """Mark the claim failed so a retry can take it over; when the database itself is the
    failure, the row stays "running" and the retry (same task id) takes it over anyway."""
    try:
        job_run_finish(run, outcome=JobOutcome.FAILED)
    except DatabaseError:
        logger.warning("Nightly chain claim of %s not marked failed.", run.period)


@idempotent_task()
def canary_task() -> str:
    """A no-op round trip through the queue: monitoring sends it to see that a worker consumes.
    Idempotent (it does nothing), so it is redelivered like the others."""
    return "ok"
