"""Celery and Redis faults (RELIABILITY R34–R37): the web tier keeps working when Redis is down or
frozen, tasks are idempotent, and nothing is published before its transaction commits.

The fault tests start a private ``redis-server`` on a free loopback port, point the cache and the
Celery app of this process at it, then shut it down (``shutdown nosave``) or freeze it (SIGSTOP).
"""

from __future__ import annotations

import datetime
import time

import pytest
import redis
from django.db import transaction
from django.test import Client as WebClient

from clients.models import Client, Interaction, Task
from crm.celery import app as celery_app
from crm.nightly import nightly_chain_task
from kpi.models import KpiSnapshot
from kpi.tasks import enqueue_kpi_recompute, kpi_recompute_task
from retention.models import LostCase
from tests.factories import ClientFactory, ContractFactory, make_inn
from tests.fault_servers import needs_redis_server, wired_to

BUDGET_S = 2.0
pytestmark = needs_redis_server


def _unavailable(language: str) -> str:
    from django.utils import translation
    from django.utils.html import escape

    from kpi.views import _recompute_problem

    with translation.override(language):
        return escape(_recompute_problem("unavailable"))


def _timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


@pytest.mark.fault
@pytest.mark.parametrize("fault", ["down", "frozen"])
def test_the_web_tier_keeps_working_when_redis_fails(
    transactional_db, private_redis, director, manager, fault
):
    own = ClientFactory(manager=manager)
    with wired_to(private_redis.url):
        from django.core.cache import cache

        cache.set("probe", 1)
        assert redis.Redis(port=private_redis.port).exists(":1:probe") == 1
        if fault == "down":
            private_redis.shut_down()
        else:
            private_redis.freeze()

        web = WebClient()
        answers = {}
        answers["login"] = _timed(
            lambda: web.post("/login/", {"username": manager.username, "password": "pass-12345"})
        )
        answers["clients page"] = _timed(lambda: web.get("/clients/"))
        answers["clients api"] = _timed(lambda: web.get("/api/v1/clients/"))
        answers["create client"] = _timed(
            lambda: web.post(
                "/api/v1/clients/",
                {
                    "name": "МБОУ СОШ № 404",
                    "inn": make_inn(4040),
                    "kind": "school",
                    "acquisition_channel": "inbound",
                    "manager": manager.pk,
                },
                content_type="application/json",
            )
        )
        answers["log call"] = _timed(
            lambda: web.post(
                "/api/v1/interactions/",
                {"client": own.pk, "kind": "call_out", "outcome": "reached"},
                content_type="application/json",
            )
        )
        statuses = {name: response.status_code for name, (response, _s) in answers.items()}
        assert statuses == {
            "login": 302,
            "clients page": 200,
            "clients api": 200,
            "create client": 201,
            "log call": 201,
        }
        slow = {name: round(s, 2) for name, (_r, s) in answers.items() if s >= BUDGET_S}
        assert slow == {}
        assert Client.objects.filter(inn=make_inn(4040)).exists()
        assert Interaction.objects.filter(client=own).count() == 1

        boss = WebClient()
        boss.force_login(director)  # the login itself was proven above
        response, seconds = _timed(lambda: boss.post("/dashboard/recompute/", follow=True))
        assert response.status_code == 200
        page = response.content.decode()
        assert any(_unavailable(language) in page for language in ("ru", "en"))
        assert seconds < 6
        api, seconds = _timed(lambda: boss.post("/api/v1/kpi/recompute/"))
        assert api.status_code == 503
        assert seconds < 6


@pytest.mark.fault
def test_enqueue_raises_queue_unavailable_fast_when_redis_is_frozen(
    transactional_db, private_redis
):
    from core.errors import QueueUnavailable

    with wired_to(private_redis.url):
        private_redis.freeze()
        started = time.monotonic()
        with pytest.raises(QueueUnavailable):
            enqueue_kpi_recompute()
        assert time.monotonic() - started < 6


# --- R35: at-least-once delivery, one side effect -------------------------------------------------


def _snapshot_rows() -> list[tuple]:
    fields = [f.attname for f in KpiSnapshot._meta.concrete_fields]
    fields = [name for name in fields if name not in ("id", "computed_at")]
    return sorted(KpiSnapshot.objects.values_list(*fields))


def test_a_kpi_recompute_delivered_twice_writes_the_same_rows_once(db, manager):
    ContractFactory(client=ClientFactory(manager=manager), starts_on=datetime.date(2026, 5, 1))
    first = kpi_recompute_task.apply(kwargs={"month_from": "2026-05-01"}).get()
    rows = _snapshot_rows()
    second = kpi_recompute_task.apply(kwargs={"month_from": "2026-05-01"}).get()
    assert first == second
    assert _snapshot_rows() == rows
    assert len(rows) == len(set(rows)) > 0


def test_a_nightly_chain_delivered_twice_has_one_effect(db, manager):
    client = ClientFactory(manager=manager)
    ContractFactory(
        client=client,
        starts_on=datetime.date(2025, 1, 1),
        ends_on=datetime.date(2026, 9, 30),
        termination_reason="price",
    )
    args = {"today": "2026-11-20", "now": "2026-11-20T02:00:00"}
    nightly_chain_task.apply(kwargs=args).get()
    after_first = (
        Task.objects.count(),
        LostCase.objects.count(),
        list(Client.objects.values_list("pk", "status")),
        _snapshot_rows(),
    )
    nightly_chain_task.apply(kwargs=args).get()
    assert (
        Task.objects.count(),
        LostCase.objects.count(),
        list(Client.objects.values_list("pk", "status")),
        _snapshot_rows(),
    ) == after_first


# --- R37: nothing is published before commit, nothing after a rollback ---------------------------


class Boom(Exception):
    pass


def test_a_recompute_is_published_only_after_commit_and_never_after_rollback(
    db, monkeypatch, django_capture_on_commit_callbacks
):
    published = []
    monkeypatch.setattr(
        kpi_recompute_task, "apply_async", lambda *args, **kwargs: published.append(kwargs)
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            task_id = enqueue_kpi_recompute()
            assert published == []
        assert published == []
    assert [call["task_id"] for call in published] == [task_id]
    assert len(callbacks) == 1

    published.clear()

    def enqueue_then_fail() -> None:
        with transaction.atomic():
            enqueue_kpi_recompute()
            raise Boom

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Boom):
        enqueue_then_fail()
    assert callbacks == []
    assert published == []


def test_web_writes_enqueue_nothing(db, manager, monkeypatch, django_capture_on_commit_callbacks):
    """The outbox of R34 is not needed: creating a client and logging a call queue no task (the
    nightly chain re-derives statuses, tasks and KPIs from the rows)."""
    sent = []
    monkeypatch.setattr(celery_app, "send_task", lambda *a, **k: sent.append(a))
    from celery.app.task import Task as CeleryTask

    monkeypatch.setattr(CeleryTask, "apply_async", lambda *a, **k: sent.append(a))
    web = WebClient()
    web.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        created = web.post(
            "/api/v1/clients/",
            {
                "name": "МБОУ СОШ № 5",
                "inn": make_inn(5050),
                "kind": "school",
                "acquisition_channel": "inbound",
                "manager": manager.pk,
            },
            content_type="application/json",
        )
        logged = web.post(
            "/api/v1/interactions/",
            {"client": created.json()["id"], "kind": "call_out", "outcome": "reached"},
            content_type="application/json",
        )
    assert (created.status_code, logged.status_code) == (201, 201)
    assert sent == []
    assert callbacks == []
