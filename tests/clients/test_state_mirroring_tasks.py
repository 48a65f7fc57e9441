"""SPEC §11: a task that mirrors a state closes when the state ends and cannot be ticked off by
hand while it lasts — on the page and in the API alike (409 with what must happen instead)."""

from __future__ import annotations

import datetime

import pytest
from django.utils.html import escape
from freezegun import freeze_time
from rest_framework.test import APIClient

from clients.models import STATE_MIRRORING_TASKS, RequestStatus, Task, TaskKind
from clients.services import (
    client_request_create,
    client_request_refuse,
    client_request_resolve,
    task_complete,
    tasks_create_overdue_requests,
)
from core.errors import Conflict
from retention.models import CaseStatus
from retention.services import lost_case_claim, lost_case_decline
from tests.factories import ClientFactory, LostCaseFactory


@pytest.fixture(autouse=True)
def _frozen_clock():
    # Friday 20 November 2026, 15:00 in Krasnoyarsk.
    with freeze_time("2026-11-20 08:00:00"):
        yield


@pytest.fixture
def acme(manager):
    return ClientFactory(manager=manager)


def open_tasks(client, kind):
    return Task.objects.filter(client=client, kind=kind, done_at__isnull=True)


def api_as(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def test_the_mentor_cannot_tick_off_a_refusal_approval_in_the_api(manager, mentor, acme):
    request = client_request_create(actor=manager, client=acme, topic="Перенос базы")
    client_request_refuse(actor=manager, request=request, reason="Не наш профиль")
    task = open_tasks(acme, TaskKind.REFUSAL_APPROVAL).get()

    response = api_as(mentor).post(f"/api/v1/tasks/{task.pk}/done/")

    assert response.status_code == 409
    assert response.json() == {"detail": str(STATE_MIRRORING_TASKS[TaskKind.REFUSAL_APPROVAL])}
    task.refresh_from_db()
    request.refresh_from_db()
    assert task.done_at is None
    assert request.status == RequestStatus.REFUSAL_PENDING


def test_an_overdue_request_task_stays_open_on_the_workspace_page(client, manager, acme):
    with freeze_time("2026-11-16 03:00:00"):  # Monday 10:00: due Wednesday 10:00
        request = client_request_create(actor=manager, client=acme, topic="Ошибка в 6-НДФЛ")
    assert tasks_create_overdue_requests() == 1
    task = open_tasks(acme, TaskKind.REQUEST_OVERDUE).get()
    client.force_login(manager)

    page = client.get("/my/")
    response = client.post(f"/my/tasks/{task.pk}/complete/", HTTP_HX_REQUEST="true")

    assert 'data-testid="task-closes-itself"' in page.content.decode()
    assert escape(str(STATE_MIRRORING_TASKS[TaskKind.REQUEST_OVERDUE])) in response.content.decode()
    task.refresh_from_db()
    assert task.done_at is None
    # The state ends: the request is resolved, and the task closes with it.
    client_request_resolve(actor=manager, request=request)
    task.refresh_from_db()
    assert task.done_at is not None


def test_even_the_director_cannot_tick_off_a_free_month_ending(director, return_manager, manager):
    case = LostCaseFactory(
        client=ClientFactory(manager=manager), lost_on=datetime.date(2026, 11, 1)
    )
    lost_case_claim(actor=return_manager, case=case)
    task = Task.objects.create(
        assignee=return_manager,
        client=case.client,
        kind=TaskKind.FREE_MONTH_ENDING,
        due_on=datetime.date(2026, 11, 23),
    )

    with pytest.raises(Conflict) as refused:
        task_complete(actor=director, task=task)

    assert refused.value.message == str(STATE_MIRRORING_TASKS[TaskKind.FREE_MONTH_ENDING])
    lost_case_decline(actor=return_manager, case=case, reason="Перешли к конкуренту")
    task.refresh_from_db()
    case.refresh_from_db()
    assert case.status == CaseStatus.DECLINED
    assert task.done_at is not None


def test_a_manual_task_of_the_same_kind_is_ticked_off_as_usual(manager, mentor, acme):
    """Only system tasks mirror a state; one a person gave by hand is theirs to close."""
    task = Task.objects.create(
        assignee=manager,
        client=acme,
        kind=TaskKind.REQUEST_OVERDUE,
        due_on=datetime.date(2026, 11, 20),
        created_by=mentor,
    )

    task_complete(actor=manager, task=task)

    task.refresh_from_db()
    assert task.done_at is not None
