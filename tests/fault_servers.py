"""The outside world of the fault tests, for real: a private ``redis-server`` to stop or freeze, this
process's cache and Celery app wired to it, and the test database as a URL for a worker process.

Parallel test workers (pytest-xdist) share the machine's ports: each takes ports from a block of
its own (see :func:`free_port`), so two workers never start servers on the same one.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.db import connection
from django.test import override_settings

needs_redis_server = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="no redis-server"
)


# Each test process probes ports in a block of its own, below the kernel's ephemeral range
# (32768 and up, where outgoing connections get theirs).
PORT_BLOCK = 500
FIRST_PORT = 20_000


def free_port() -> int:
    """A loopback port nobody listens on, from this test process's own block of ports, so that
    parallel workers never start a server on, or expect refusals from, the same port. The search
    starts at a random place in the block, so separate test runs rarely meet either."""
    index = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    first = FIRST_PORT + PORT_BLOCK * index
    start = random.randrange(PORT_BLOCK)  # noqa: S311 - a spread, not a secret
    for step in range(PORT_BLOCK):
        port = first + (start + step) % PORT_BLOCK
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError(f"no free port in {first}-{first + PORT_BLOCK - 1}")


def _wait_for(condition, *, timeout: float, what: str, step: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(step)


@dataclass
class PrivateRedis:
    """A ``redis-server`` of the test's own that saves nothing; it can be shut down and started
    again on the same port, or frozen (SIGSTOP) like a hung server."""

    port: int
    workdir: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_connect_timeout=1, socket_timeout=2)

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - fixed tool and arguments
            [
                shutil.which("redis-server"),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def answers() -> bool:
            try:
                return bool(self.client().ping())
            except redis.ConnectionError:
                return False

        _wait_for(answers, timeout=10, what="redis-server to start", step=0.05)

    def shut_down(self) -> None:
        self.client().shutdown(nosave=True)
        self.process.wait(timeout=10)

    def freeze(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)
            self.process.terminate()
            self.process.wait(timeout=10)


@contextmanager
def redis_server(workdir: Path):
    server = PrivateRedis(port=free_port(), workdir=workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _reset_celery_connections() -> None:
    from crm.celery import app as celery_app

    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    celery_app._backend_cache = None
    if hasattr(celery_app._local, "backend"):
        del celery_app._local.backend


@contextmanager
def wired_to(url: str):
    """This process's cache and Celery app use the Redis at ``url``, as the web process does in
    production."""
    from crm.celery import app as celery_app

    names = ("broker_url", "result_backend", "task_always_eager")
    saved = {name: celery_app.conf[name] for name in names}
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    with override_settings(CACHES=caches):
        celery_app.conf.update(broker_url=url, result_backend=url, task_always_eager=False)
        _reset_celery_connections()
        try:
            yield
        finally:
            celery_app.conf.update(saved)
            _reset_celery_connections()


def shared_database_url() -> str:
    """The test database as a URL for a worker process, which must see the test's rows."""
    if connection.vendor != "postgresql":
        pytest.skip("the worker process must share the test database: needs PostgreSQL")
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
