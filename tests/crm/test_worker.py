"""Celery for real (SPEC §5): queueing from web code, failing fast when Redis is down, and a real
worker process that takes tasks from Redis and writes to the test database."""

from __future__ import annotations

import datetime
import os
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from celery import Celery
from django.conf import settings
from django.core.exceptions import ValidationError

from clients.models import ClientStatus, Task
from crm.nightly import NIGHTLY_LOCK_KEY, SKIPPED
from kpi.models import KpiSnapshot
from kpi.tasks import enqueue_kpi_recompute, kpi_recompute_task
from retention.models import CaseStatus, LostCase
from tests.factories import ClientFactory, ContractFactory, LostCaseFactory
from tests.fault_servers import free_port, shared_database_url

BASE_DIR = Path(settings.BASE_DIR)
# The worker gets its own Redis database so it never meets a developer's queue or cache.
WORKER_REDIS_DB = 13
TASK_TIMEOUT = 60
TODAY = datetime.date(2026, 11, 20)


# --- queueing from web code -----------------------------------------------------------------


def test_enqueue_returns_the_task_id_and_runs_after_commit(
    manager, django_capture_on_commit_callbacks
):
    ContractFactory(client=ClientFactory(manager=manager), starts_on=datetime.date(2026, 9, 1))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        task_id = enqueue_kpi_recompute(month_from=datetime.date(2026, 9, 1))
    assert uuid.UUID(task_id)
    assert len(callbacks) == 1
    assert KpiSnapshot.objects.count() == 0  # nothing is sent before the transaction commits

    callbacks[0]()

    assert KpiSnapshot.objects.filter(month__gte=datetime.date(2026, 9, 1)).count() > 0
    assert KpiSnapshot.objects.filter(month__lt=datetime.date(2026, 9, 1)).count() == 0


def test_enqueue_refuses_a_reversed_month_range(db, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(ValidationError) as error,
    ):
        enqueue_kpi_recompute(
            month_from=datetime.date(2026, 10, 1), month_to=datetime.date(2026, 9, 30)
        )
    assert list(error.value.message_dict) == ["month_from"]
    assert callbacks == []


def test_kpi_recompute_task_reports_the_rows_written(manager):
    ContractFactory(client=ClientFactory(manager=manager), starts_on=datetime.date(2026, 10, 1))
    result = kpi_recompute_task.delay(month_from="2026-10-01", month_to="2026-11-30").get()
    assert result == {
        "rows": KpiSnapshot.objects.count(),
        "month_from": "2026-10-01",
        "month_to": "2026-11-30",
    }
    assert set(KpiSnapshot.objects.values_list("month", flat=True)) == {
        datetime.date(2026, 10, 1),
        datetime.date(2026, 11, 1),
    }


# --- Redis down: fail fast, do not hang -----------------------------------------------------

ENQUEUE_SCRIPT = textwrap.dedent(
    """
    import time
    import django

    django.setup()
    from core.errors import QueueUnavailable
    from kpi.tasks import enqueue_kpi_recompute

    started = time.monotonic()
    try:
        enqueue_kpi_recompute()
    except QueueUnavailable as exc:
        print("unavailable", round(time.monotonic() - started, 1), exc.message)
    else:
        print("queued")
    """
)


def enqueue_with_redis_at(url: str) -> tuple[str, float]:
    """Run the web code's enqueue in a fresh process configured like production with
    REDIS_URL=url (the test process itself runs Celery eagerly)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "crm.settings",
        "SECRET_KEY": "test-only-secret-key-not-for-production",
        "DEBUG": "false",
        "DATABASE_URL": "sqlite://:memory:",
        "REDIS_URL": url,
        "PYTHONPATH": str(BASE_DIR),
    }
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", ENQUEUE_SCRIPT],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip(), time.monotonic() - started


def test_enqueue_fails_fast_when_redis_refuses_connections():
    output, elapsed = enqueue_with_redis_at(f"redis://127.0.0.1:{free_port()}/0")
    assert output.startswith("unavailable"), output
    assert elapsed < 15


def test_enqueue_fails_fast_when_redis_is_frozen():
    # A server that accepts connections and never answers: the socket timeouts must end the wait.
    with socket.socket() as frozen:
        frozen.bind(("127.0.0.1", 0))
        frozen.listen(64)
        output, elapsed = enqueue_with_redis_at(f"redis://127.0.0.1:{frozen.getsockname()[1]}/0")
    assert output.startswith("unavailable"), output
    waited = float(output.split()[1])
    assert waited < 6
    assert elapsed < 20


# --- a real worker against Redis and PostgreSQL ---------------------------------------------


def worker_redis_url() -> str:
    url = os.environ.get("REDIS_URL", "")
    if not url:
        pytest.skip("REDIS_URL is not set: the real-worker test needs a Redis server")
    parts = urlsplit(url)
    own_db = parts.path.strip("/") or "0"
    db = WORKER_REDIS_DB if own_db != str(WORKER_REDIS_DB) else WORKER_REDIS_DB + 1
    worker_url = urlunsplit(parts._replace(path=f"/{db}"))
    try:
        redis.Redis.from_url(worker_url, socket_connect_timeout=1, socket_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis at REDIS_URL is unreachable: {exc}")
    return worker_url


@pytest.fixture
def worker(transactional_db, tmp_path):
    """A real ``celery worker`` process on its own queue, reading the test database and a
    dedicated Redis database; terminated at the end."""
    redis_url = worker_redis_url()
    database_url = shared_database_url()
    queue = f"test-worker-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "crm.settings",
        "SECRET_KEY": "test-only-secret-key-not-for-production",
        "DEBUG": "false",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "PYTHONPATH": str(BASE_DIR),
    }
    command = [
        str(Path(sys.executable).with_name("celery")),
        "-A",
        "crm",
        "worker",
        "-P",
        "solo",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-c",
        "1",
        "-Q",
        queue,
        "-n",
        f"{queue}@%h",
        "--loglevel=INFO",
    ]
    log_path = tmp_path / "worker.log"
    # Not the current app: the project's shared tasks must keep resolving to crm.celery.app.
    sender = Celery("worker-test", broker=redis_url, backend=redis_url, set_as_current=False)
    sender.conf.update(
        task_default_queue=queue,
        broker_connection_timeout=2,
        broker_transport_options={"socket_connect_timeout": 2, "socket_timeout": 5},
    )
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            yield sender, redis.Redis.from_url(redis_url), log_path
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            sender.close()


def run_on_worker(sender: Celery, log_path: Path, name: str, **kwargs):
    result = sender.send_task(name, kwargs=kwargs)
    try:
        return result.get(timeout=TASK_TIMEOUT)
    except Exception:
        print(log_path.read_text()[-5000:])
        raise


@pytest.mark.redis
@pytest.mark.postgres
def test_a_real_worker_takes_tasks_from_redis_and_writes_the_database(worker, manager):
    sender, worker_redis, log_path = worker
    client = ClientFactory(manager=manager, status=ClientStatus.PROSPECT)
    ContractFactory(client=client, starts_on=datetime.date(2024, 1, 1))
    expired = LostCaseFactory(
        client=ClientFactory(manager=manager, status=ClientStatus.LOST),
        lost_on=datetime.date(2026, 8, 1),
    )

    # The nightly lock lives in the worker's cache (Redis): held elsewhere, the run is skipped
    # and writes nothing.
    lock_key = f":1:{NIGHTLY_LOCK_KEY}"  # Django's default key prefix and version
    worker_redis.set(lock_key, 12345, ex=60)
    assert (
        run_on_worker(sender, log_path, "crm.nightly.nightly_chain_task", today=TODAY.isoformat())
        == SKIPPED
    )
    assert LostCase.objects.get(pk=expired.pk).status == CaseStatus.OPEN
    client.refresh_from_db()
    assert client.status == ClientStatus.PROSPECT

    worker_redis.delete(lock_key)
    done = run_on_worker(
        sender, log_path, "crm.nightly.nightly_chain_task", today=TODAY.isoformat()
    )
    client.refresh_from_db()
    assert client.status == ClientStatus.ACTIVE
    assert done["expired_cases"] == 1
    assert done["follow_ups"] == 1
    assert LostCase.objects.get(pk=expired.pk).closed_on == datetime.date(2026, 10, 30)
    assert Task.objects.get().client == client
    assert KpiSnapshot.objects.count() == done["kpi_snapshots"] > 0
    assert worker_redis.get(lock_key) is None  # the worker released its own lock

    recomputed = run_on_worker(
        sender, log_path, "kpi.tasks.kpi_recompute_task", month_from="2026-11-01"
    )
    november_on = KpiSnapshot.objects.filter(month__gte=datetime.date(2026, 11, 1)).count()
    assert recomputed == {"rows": november_on, "month_from": "2026-11-01", "month_to": None}
