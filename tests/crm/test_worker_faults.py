"""Worker faults (RELIABILITY R35, R36): a worker killed mid-task, a message that kills every
worker, a Redis restart under a running worker, a frozen worker seen by the health check, and
a periodic job that runs once per period however often beat fires.

The fault tests start a private ``redis-server`` on a free loopback port and a real
``celery worker`` (prefork, one child) against it. The worker reads a throw-away SQLite file,
or the test database itself where the test needs both processes to see the same rows
(PostgreSQL only).
"""

from __future__ import annotations

import ast
import datetime
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.core.cache import cache
from django.db import connection, connections
from django.test import Client as WebClient
from django.utils import timezone

from clients.models import ClientStatus, Task
from core.models import JobOutcome, JobRun
from core.tasks import (
    MAX_DELIVERIES,
    RETRY_TRANSIENT,
    GuardedTask,
    TaskGaveUp,
    delivery_key,
    job_run_claim,
    job_run_finish,
)
from crm.celery import app as celery_app
from crm.nightly import NIGHTLY_JOB, SKIPPED, nightly_chain_task
from kpi.models import KpiSnapshot
from kpi.services import _LOCK_KEY as KPI_LOCK_KEY
from tests.factories import ClientFactory, ContractFactory
from tests.fault_servers import (
    free_port,
    needs_redis_server,
    redis_server,
    shared_database_url,
    wired_to,
)

BASE_DIR = Path(settings.BASE_DIR)
TODAY = datetime.date(2026, 11, 20)
NIGHT = "2026-11-20T02:00:00+07:00"
PROJECT_PACKAGES = ("crm", "staff", "clients", "retention", "kpi")
PROJECT_TASK_MODULES = ("crm.nightly", "clients.tasks", "kpi.tasks")
WAIT_S = 30
# A worker imports Django and the project first: on a busy 2-core machine that can take a while.
WORKER_START_S = 90
# The test-only poison task's own limit (tests/crm/fault_tasks.py): lower than the project's
# MAX_DELIVERIES, as each death costs the pool seconds to notice.
POISON_MAX_DELIVERIES = 2


# --- a real worker --------------------------------------------------------------------------


def _wait_for(condition, *, timeout: float = WAIT_S, what: str = "condition", step=0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(step)


@dataclass
class Worker:
    process: subprocess.Popen
    log_path: Path
    sender: Celery
    stopped: bool = field(default=False)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def children(self) -> set[int]:
        """The pool's child processes (the ones that run tasks)."""
        pids: set[int] = set()
        for thread in Path(f"/proc/{self.process.pid}/task").iterdir():
            children = (thread / "children").read_text().split()
            pids.update(int(pid) for pid in children)
        return pids

    def freeze(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)
        self.stopped = True

    def thaw(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)
        self.stopped = False

    def run(self, name: str, *, timeout: float = WAIT_S, **kwargs):
        result = self.sender.send_task(name, kwargs=kwargs)
        try:
            return result.get(timeout=timeout)
        except Exception:
            print(self.log()[-5000:])
            raise


def _sender(redis_url: str) -> Celery:
    """A separate app that only sends: the project's shared tasks keep resolving to its own."""
    sender = Celery("fault-test", broker=redis_url, backend=redis_url, set_as_current=False)
    sender.conf.update(
        broker_connection_timeout=2,
        broker_transport_options={"socket_connect_timeout": 2, "socket_timeout": 5},
    )
    return sender


@contextmanager
def running_worker(redis_url: str, database_url: str, tmp_path: Path):
    """``celery worker`` as in production (prefork), with one child and the fault-test task."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "crm.settings",
        "SECRET_KEY": "test-only-secret-key-not-for-production",
        "DEBUG": "false",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "PYTHONPATH": str(BASE_DIR),
    }
    name = f"faults-{uuid.uuid4().hex[:8]}"
    command = [
        str(Path(sys.executable).with_name("celery")),
        "-A",
        "crm",
        "worker",
        "-P",
        "prefork",
        "-c",
        "1",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--include",
        "tests.crm.fault_tasks",
        "-n",
        f"{name}@%h",
        "--loglevel=INFO",
    ]
    log_path = tmp_path / f"{name}.log"
    sender = _sender(redis_url)
    with log_path.open("w") as log:
        process = subprocess.Popen(  # noqa: S603 - fixed tool and arguments
            command,
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        worker = Worker(process, log_path, sender)
        try:
            _wait_for(
                lambda: " ready." in worker.log(),
                timeout=WORKER_START_S,
                what="the worker to start",
            )
            yield worker
        finally:
            if worker.stopped:
                worker.thaw()
            # Cold shutdown (SIGQUIT): nothing to finish here, and the suite need not wait.
            process.send_signal(signal.SIGQUIT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            sender.close()


@pytest.fixture(scope="module")
def shared_redis(tmp_path_factory):
    """One Redis for the module's worker: starting a worker costs seconds, so the tests whose
    tasks need no shared rows share one (each leaves it running and consuming)."""
    with redis_server(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="module")
def sqlite_worker(shared_redis, tmp_path_factory):
    """A worker on a throw-away SQLite file: it runs whatever the test database is."""
    workdir = tmp_path_factory.mktemp("worker")
    with running_worker(shared_redis.url, f"sqlite:///{workdir}/worker.sqlite3", workdir) as w:
        yield w


# The tests of the module's worker run in one test process (``--dist loadgroup``): spread over
# parallel workers, each would start a Redis and a Celery worker of its own.
shares_the_module_worker = pytest.mark.xdist_group("sqlite_worker")


# --- R35: a worker killed mid-task ----------------------------------------------------------


def _advisory_waiters() -> set[int]:
    """Backends of this test database waiting for an advisory lock (the KPI recompute's turn).
    Parallel test processes have databases of their own, and their waiters are not ours."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
            " WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()"
        )
        return {pid for (pid,) in cursor.fetchall()}


@pytest.mark.fault
@pytest.mark.postgres
@needs_redis_server
def test_a_chain_whose_worker_is_killed_mid_run_is_redelivered_and_writes_once(
    transactional_db, private_redis, tmp_path, manager
):
    database_url = shared_database_url()
    client = ClientFactory(manager=manager, status=ClientStatus.PROSPECT)
    ContractFactory(client=client, starts_on=datetime.date(2024, 1, 1))

    with running_worker(private_redis.url, database_url, tmp_path) as worker:
        # Holding the KPI recompute's lock stops the chain at its last step, after the
        # follow-up task (the side effect) is written: the child is killed right there.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [KPI_LOCK_KEY])
        try:
            result = worker.sender.send_task(
                "crm.nightly.nightly_chain_task", kwargs={"today": TODAY.isoformat()}
            )
            first_waiter = _wait_for(_advisory_waiters, what="the chain to reach its KPI step")
            assert Task.objects.filter(client=client).count() == 1
            (child,) = worker.children()
            os.kill(child, signal.SIGKILL)

            # A new child takes the same message again and reaches the same step.
            second_waiter = _wait_for(
                lambda: _advisory_waiters() - first_waiter, what="the redelivered chain"
            )
            assert worker.children()
            assert child not in worker.children()
            assert second_waiter
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [KPI_LOCK_KEY])
        try:
            done = result.get(timeout=WAIT_S)
        except Exception:
            print(worker.log()[-5000:])
            raise

    assert "SIGKILL" in worker.log()
    # The redelivered run found the follow-up already written and wrote nothing twice.
    assert done["follow_ups"] == 0
    assert Task.objects.filter(client=client).count() == 1
    assert KpiSnapshot.objects.count() == done["kpi_snapshots"] > 0


# --- R35: a poison message stops after N deliveries -----------------------------------------


@pytest.mark.fault
@needs_redis_server
@shares_the_module_worker
def test_a_task_that_kills_every_worker_gives_up_after_the_delivery_limit(
    db, shared_redis, sqlite_worker
):
    attempts_key = f"poison-attempts-{uuid.uuid4().hex}"
    result = sqlite_worker.sender.send_task(
        "tests.poison_task", kwargs={"attempts_key": attempts_key}
    )

    # The sender rebuilds the worker's exception from its module and name.
    with pytest.raises(TaskGaveUp, match="delivered 2 times"):
        result.get(timeout=WAIT_S)

    # Two deliveries ran (and killed their worker); the third gave up before running.
    assert int(shared_redis.client().get(attempts_key)) == POISON_MAX_DELIVERIES
    assert "gave up: delivered 2 times, its worker died every time" in sqlite_worker.log()
    # The worker survived the poison and still takes work.
    assert sqlite_worker.run("crm.nightly.canary_task") == "ok"


def test_a_message_over_its_delivery_limit_is_dropped_without_running(db, manager):
    client = ClientFactory(manager=manager, status=ClientStatus.PROSPECT)
    ContractFactory(client=client, starts_on=datetime.date(2024, 1, 1))
    task_id = str(uuid.uuid4())
    # Three deliveries of this message started and never finished: each worker died.
    cache.set(delivery_key(task_id), MAX_DELIVERIES, 60)

    with pytest.raises(TaskGaveUp):
        nightly_chain_task.apply(kwargs={"today": TODAY.isoformat()}, task_id=task_id).get()

    assert Task.objects.count() == 0
    assert cache.get(delivery_key(task_id)) is None
    # Any other message runs, and a run that ends leaves no count behind.
    other = str(uuid.uuid4())
    assert (
        nightly_chain_task.apply(kwargs={"today": TODAY.isoformat()}, task_id=other).get()[
            "follow_ups"
        ]
        == 1
    )
    assert cache.get(delivery_key(other)) is None


# --- R35: static guarantees -----------------------------------------------------------------


def _late_schedules(source: str, filename: str, limit: float) -> list[str]:
    """Calls that delay a task past ``limit`` seconds, or by an amount no one can check here:
    any ``eta=``, and a ``countdown=`` that is not a number up to ``limit``."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.Call):
            continue
        for keyword in node.keywords:
            where = f"{filename}:{node.lineno}"
            if keyword.arg == "eta":
                found.append(f"{where} eta=")
            elif keyword.arg == "countdown":
                value = keyword.value
                is_number = isinstance(value, ast.Constant) and isinstance(value.value, int | float)
                if not is_number or value.value > limit:
                    found.append(f"{where} countdown={ast.unparse(value)}")
    return found


def test_the_scanner_catches_late_and_unchecked_delays():
    source = (
        "t.apply_async(countdown=30)\n"
        "t.apply_async(countdown=7200)\n"
        "t.retry(countdown=delay)\n"
        "t.apply_async(eta=tomorrow)\n"
    )
    assert _late_schedules(source, "x.py", 3600) == [
        "x.py:2 countdown=7200",
        "x.py:3 countdown=delay",
        "x.py:4 eta=",
    ]


def test_no_task_is_delayed_past_the_broker_visibility_timeout():
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    late = []
    for package in PROJECT_PACKAGES:
        for path in sorted((BASE_DIR / package).rglob("*.py")):
            if "migrations" not in path.parts:
                late += _late_schedules(
                    path.read_text(), str(path.relative_to(BASE_DIR)), visibility
                )
    assert late == []
    # Automatic retries wait at most retry_backoff_max (plus jitter below it).
    assert RETRY_TRANSIENT["retry_backoff_max"] < visibility


def test_time_limits_end_a_task_before_redis_redelivers_it():
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    soft, hard = settings.CELERY_TASK_SOFT_TIME_LIMIT, settings.CELERY_TASK_TIME_LIMIT
    assert 0 < soft < hard < visibility
    assert settings.CELERY_TASK_ACKS_LATE is True
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1


def test_every_project_task_is_guarded_and_states_its_redelivery_decision():
    for module in PROJECT_TASK_MODULES:
        __import__(module)
    tasks = {
        name: task
        for name, task in celery_app.tasks.items()
        if name.split(".")[0] in PROJECT_PACKAGES
    }
    assert "crm.nightly.nightly_chain_task" in tasks
    assert "kpi.tasks.kpi_recompute_task" in tasks
    for name, task in tasks.items():
        assert isinstance(task, GuardedTask), name
        assert task.acks_late is True, name
        # Every project task is idempotent, so each is redelivered when its worker dies.
        assert task.reject_on_worker_lost is True, name
        assert "Idempotent" in (task.__doc__ or ""), name


# --- R36: one run per period ----------------------------------------------------------------


@pytest.fixture
def follow_up_due(manager):
    client = ClientFactory(manager=manager, status=ClientStatus.PROSPECT)
    ContractFactory(client=client, starts_on=datetime.date(2024, 1, 1))
    return client


def test_two_beats_for_one_night_run_the_chain_once(db, follow_up_due):
    # Beat sends no date: each run is for the night of "now".
    first = nightly_chain_task.apply(kwargs={"now": NIGHT}).get()
    second = nightly_chain_task.apply(kwargs={"now": NIGHT}).get()

    assert first["follow_ups"] == 1
    assert second == SKIPPED
    run = JobRun.objects.get()
    assert (run.job, run.period, run.outcome) == (NIGHTLY_JOB, "2026-11-20", JobOutcome.DONE)
    assert run.result == first
    assert run.finished_at is not None
    assert Task.objects.filter(client=follow_up_due).count() == 1

    # The next night is a new period.
    nightly_chain_task.apply(kwargs={"now": "2026-11-21T02:00:00+07:00"}).get()
    assert sorted(JobRun.objects.values_list("period", flat=True)) == ["2026-11-20", "2026-11-21"]


def test_a_claim_is_taken_back_by_its_own_redelivery_and_after_a_failure(db):
    run = job_run_claim(NIGHTLY_JOB, "2026-11-20", task_id="first")
    assert run is not None
    # The same message again (its worker died): the claim is its own.
    assert job_run_claim(NIGHTLY_JOB, "2026-11-20", task_id="first").pk == run.pk
    # Another message for the same night (a second beat): skipped.
    assert job_run_claim(NIGHTLY_JOB, "2026-11-20", task_id="second") is None

    job_run_finish(run, outcome=JobOutcome.FAILED)
    taken = job_run_claim(NIGHTLY_JOB, "2026-11-20", task_id="second")
    assert (taken.task_id, taken.outcome) == ("second", JobOutcome.RUNNING)
    job_run_finish(taken, outcome=JobOutcome.DONE)
    assert job_run_claim(NIGHTLY_JOB, "2026-11-20", task_id="second") is None
    assert JobRun.objects.count() == 1


def test_a_claim_left_running_past_the_time_limit_is_taken_over(db):
    run = job_run_claim(NIGHTLY_JOB, "2026-11-20", task_id="lost")
    # Its worker died and the message was given up on: nobody will ever finish this run.
    JobRun.objects.filter(pk=run.pk).update(
        started_at=timezone.now() - datetime.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
    )

    taken = job_run_claim(NIGHTLY_JOB, "2026-11-20", task_id="next")

    assert (taken.pk, taken.task_id, taken.outcome) == (run.pk, "next", JobOutcome.RUNNING)


@pytest.mark.postgres
def test_two_beats_claiming_one_night_at_once_get_one_row(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL")
    start = threading.Barrier(2)
    claims: dict[str, bool] = {}

    def beat(task_id: str) -> None:
        try:
            start.wait(timeout=10)
            claims[task_id] = job_run_claim(NIGHTLY_JOB, "2026-11-20", task_id=task_id) is not None
        finally:
            connections.close_all()

    threads = [threading.Thread(target=beat, args=(name,)) for name in ("beat-a", "beat-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(claims.values()) == [False, True]
    winner = next(name for name, won in claims.items() if won)
    assert list(JobRun.objects.values_list("task_id", flat=True)) == [winner]


# --- R36: Redis restart, worker health ------------------------------------------------------


@pytest.mark.fault
@needs_redis_server
@shares_the_module_worker
def test_a_worker_consumes_again_after_redis_restarts(db, shared_redis, sqlite_worker):
    assert sqlite_worker.run("crm.nightly.canary_task") == "ok"

    shared_redis.shut_down()
    time.sleep(1)
    shared_redis.start()

    started = time.monotonic()
    sender = _sender(shared_redis.url)
    try:
        assert sender.send_task("crm.nightly.canary_task").get(timeout=WAIT_S) == "ok"
    except Exception:
        print(sqlite_worker.log()[-5000:])
        raise
    finally:
        sender.close()
    assert time.monotonic() - started < WAIT_S


def _worker_health():
    response = WebClient().get("/healthz/worker/")
    return response.status_code, response.json()


def test_the_worker_check_reports_eager_mode_as_healthy(db):
    status, body = _worker_health()
    assert status == 200
    assert body == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "eager", "worker": "eager"},
        "down": [],
    }


@pytest.mark.fault
@needs_redis_server
@shares_the_module_worker
def test_the_worker_check_goes_red_while_the_worker_is_frozen(db, shared_redis, sqlite_worker):
    with wired_to(shared_redis.url):
        assert _worker_health() == (
            200,
            {
                "status": "ok",
                "checks": {"database": "ok", "broker": "ok", "worker": "ok"},
                "down": [],
            },
        )

        sqlite_worker.freeze()
        started = time.monotonic()
        status, body = _worker_health()
        assert time.monotonic() - started < 5
        assert (status, body["status"], body["down"]) == (503, "down", ["worker"])
        assert body["checks"]["broker"] == "ok"
        # Liveness stays green: a stuck worker does not take the web pages out of rotation.
        assert WebClient().get("/healthz/").status_code == 200

        sqlite_worker.thaw()
        _wait_for(lambda: _worker_health()[0] == 200, timeout=10, what="the worker to answer")


@pytest.mark.fault
@pytest.mark.parametrize("fault", ["down", "frozen"])
def test_the_worker_check_goes_red_when_redis_fails(db, fault):
    # Frozen: a server that accepts connections and never answers.
    with socket.socket() as frozen:
        frozen.bind(("127.0.0.1", 0))
        frozen.listen(64)
        port = frozen.getsockname()[1] if fault == "frozen" else free_port()
        with wired_to(f"redis://127.0.0.1:{port}/0"):
            started = time.monotonic()
            status, body = _worker_health()
    assert time.monotonic() - started < 5
    assert (status, body["down"]) == (503, ["broker", "worker"])
    assert body["checks"]["database"] == "ok"
