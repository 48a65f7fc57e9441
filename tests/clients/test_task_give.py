"""Giving a task (SPEC §11 "a task is given by another person"): who may give whom, the
assignee told in the same transaction, bad input refused naming the field — service and API."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation
from freezegun import freeze_time
from rest_framework.test import APIClient

from clients.models import Task, TaskKind
from clients.services import task_give
from inbox.models import Notification, NotificationKind
from inbox.texts import notification_text
from tests.factories import ClientFactory

MONDAY = datetime.date(2026, 12, 7)


@pytest.fixture(autouse=True)
def _frozen_clock():
    with freeze_time("2026-12-04 03:00:00"):  # Friday, 10:00 in Krasnoyarsk
        yield


def test_a_mentor_gives_a_manager_of_the_group_a_task_and_the_manager_is_told(mentor, manager):
    school = ClientFactory(name="МБОУ СОШ № 12", manager=manager)

    task = task_give(
        actor=mentor, assignee=manager, client=school, title="Позвонить главбуху", due_on=MONDAY
    )

    assert (task.kind, task.assignee, task.created_by, task.due_on, task.done_at) == (
        TaskKind.MANUAL,
        manager,
        mentor,
        MONDAY,
        None,
    )
    (notice,) = Notification.objects.filter(recipient=manager)
    assert (notice.kind, notice.url) == (NotificationKind.TASK_GIVEN, f"/clients/{school.pk}/")
    with translation.override("ru"):
        assert notification_text(notice) == (
            "Задача от Наставник Олег по клиенту «МБОУ СОШ № 12», срок 07.12.2026: "
            "Позвонить главбуху"
        )


def test_a_task_one_gives_oneself_tells_nobody(manager):
    task_give(actor=manager, assignee=manager, title="Подготовить КП", due_on=MONDAY)

    assert Task.objects.filter(assignee=manager, created_by=manager).count() == 1
    assert not Notification.objects.exists()


@pytest.mark.parametrize(
    ("actor", "assignee"),
    [("manager", "colleague"), ("mentor", "outsider"), ("return_manager", "manager")],
)
def test_a_task_for_someone_outside_ones_reach_is_refused(actor, assignee, request):
    actor, assignee = request.getfixturevalue(actor), request.getfixturevalue(assignee)

    with pytest.raises(ValidationError) as refused:
        task_give(actor=actor, assignee=assignee, title="Позвонить", due_on=MONDAY)

    assert set(refused.value.message_dict) == {"assignee"}
    assert not Task.objects.exists()
    assert not Notification.objects.exists()


def test_the_director_gives_anyone_a_task_on_any_client(director, outsider, manager):
    school = ClientFactory(manager=manager)

    task_give(
        actor=director, assignee=outsider, client=school, title="Подстраховать", due_on=MONDAY
    )

    assert Notification.objects.filter(recipient=outsider).count() == 1


def test_a_task_on_a_client_one_cannot_see_is_refused(mentor, manager, outsider):
    foreign = ClientFactory(manager=outsider)

    with pytest.raises(PermissionDenied):
        task_give(actor=mentor, assignee=manager, client=foreign, title="Позвонить", due_on=MONDAY)
    assert not Task.objects.exists()


@pytest.mark.parametrize(
    ("title", "due_on", "field"),
    [
        ("   ", MONDAY, "title"),
        ("x" * 301, MONDAY, "title"),
        ("Позвонить", datetime.date(2026, 12, 3), "due_on"),
        ("Позвонить", datetime.date(2028, 1, 1), "due_on"),
    ],
)
def test_bad_task_input_names_the_field_and_writes_nothing(mentor, manager, title, due_on, field):
    with pytest.raises(ValidationError) as refused:
        task_give(actor=mentor, assignee=manager, title=title, due_on=due_on)

    assert set(refused.value.message_dict) == {field}
    assert not Task.objects.exists()
    assert not Notification.objects.exists()


def test_the_api_gives_a_task_and_refuses_a_stranger(mentor, manager, outsider):
    school = ClientFactory(manager=manager)
    api = APIClient()
    api.force_authenticate(mentor)

    given = api.post(
        "/api/v1/tasks/",
        {"assignee": manager.pk, "client": school.pk, "title": "Позвонить", "due_on": "2026-12-07"},
        format="json",
    )
    refused = api.post(
        "/api/v1/tasks/",
        {"assignee": outsider.pk, "title": "Позвонить", "due_on": "2026-12-07"},
        format="json",
    )

    assert given.status_code == 201
    assert given.json()["kind"] == "manual"
    assert given.json()["created_by"] == mentor.pk
    assert refused.status_code == 400
    assert set(refused.json()) == {"assignee"}
    assert Notification.objects.filter(recipient=manager).count() == 1
    assert Task.objects.count() == 1
