"""A task for the worker fault tests only, loaded by their worker with ``--include``: no project
task kills its own worker, so the poison message of RELIABILITY R35 is simulated here."""

from __future__ import annotations

import os
import signal

import redis
from celery import shared_task
from django.conf import settings

from core.tasks import GuardedTask


# A lower limit than the project's, to keep the test short: each death costs the pool seconds.
@shared_task(
    base=GuardedTask, reject_on_worker_lost=True, max_deliveries=2, name="tests.poison_task"
)
def poison_task(attempts_key: str) -> None:
    """Count the attempt in Redis, then die like a process killed for running out of memory."""
    redis.Redis.from_url(settings.REDIS_URL).incr(attempts_key)
    os.kill(os.getpid(), signal.SIGKILL)
