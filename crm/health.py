"""What the deep health check looks at (RELIABILITY R36): the database, the broker and a worker.

Each check answers "ok" or "down" (the worker check "eager" when the product runs embedded and
tasks execute in the web process). None of them waits longer than a second or two, so a probe
never hangs on a frozen Redis or a frozen worker.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError, connection
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError

OK, DOWN, EAGER = "ok", "down", "eager"
# What a broker or worker call raises when Redis is gone, frozen or refuses us.
_BROKER_ERRORS = (BrokerError, RedisError, OSError, RuntimeError)

logger = logging.getLogger(__name__)


def database_state() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        logger.warning("Health: database down: %s", exc)
        return DOWN
    return OK


def worker_states() -> dict[str, str]:
    """The broker and worker parts: the broker answers a connection, and at least one worker
    answers ``celery inspect ping`` within ``WORKER_PING_TIMEOUT``. A frozen or dead worker does
    not answer, so its part is "down"."""
    from crm.celery import app

    if app.conf.task_always_eager:
        return {"broker": EAGER, "worker": EAGER}
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=settings.WORKER_PING_TIMEOUT)
            # A frozen Redis still accepts connections: only an answered command proves it.
            client = getattr(conn.default_channel, "client", None)
            if client is not None:
                client.ping()
    except _BROKER_ERRORS as exc:
        logger.warning("Health: broker down: %s", exc)
        return {"broker": DOWN, "worker": DOWN}
    try:
        replies = app.control.ping(timeout=settings.WORKER_PING_TIMEOUT, limit=1)
    except _BROKER_ERRORS as exc:
        logger.warning("Health: worker ping failed: %s", exc)
        replies = []
    return {"broker": OK, "worker": OK if replies else DOWN}
