"""Giving a task from the client card (SPEC §11): the mentor picks a person of the group, the
task lands in their list and they are told; bad input stays on the card naming the field."""

from __future__ import annotations

import datetime

import pytest
from freezegun import freeze_time

from clients.models import Task, TaskKind
from inbox.models import Notification, NotificationKind
from tests.factories import ClientFactory


@pytest.fixture(autouse=True)
def _frozen_clock():
    with freeze_time("2026-12-04 03:00:00"):
        yield


@pytest.fixture
def school(manager):
    return ClientFactory(name="МБОУ СОШ № 12", manager=manager)


def test_the_card_offers_the_people_one_may_give_tasks_the_client_manager_first(
    client, mentor, manager, colleague, outsider, school
):
    client.force_login(mentor)

    page = client.get(f"/clients/{school.pk}/").content.decode()

    form = page[page.index('data-testid="give-task-form"') :]
    form = form[: form.index("</form>")]
    assert f'<option value="{manager.pk}" selected>Клиент-менеджер Анна</option>' in form
    assert f'<option value="{colleague.pk}">Клиент-менеджер Борис</option>' in form
    assert f'value="{outsider.pk}"' not in form
    assert 'name="task-due_on" value="2026-12-04"' in form


def test_a_mentor_gives_the_manager_a_task_from_the_card(client, mentor, manager, school):
    client.force_login(mentor)

    response = client.post(
        f"/clients/{school.pk}/tasks/",
        {
            "task-assignee": manager.pk,
            "task-title": "Позвонить главбуху",
            "task-due_on": "2026-12-07",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == f"/clients/{school.pk}/"
    task = Task.objects.get(client=school, kind=TaskKind.MANUAL)
    assert (task.assignee, task.created_by, task.title, task.due_on) == (
        manager,
        mentor,
        "Позвонить главбуху",
        datetime.date(2026, 12, 7),
    )
    assert (
        Notification.objects.filter(
            recipient=manager, kind=NotificationKind.TASK_GIVEN, client=school
        ).count()
        == 1
    )
    card = client.get(f"/clients/{school.pk}/").content.decode()
    assert "Задача выдана." in card
    assert "Задача: Позвонить главбуху" in card


def test_with_htmx_the_form_comes_back_fresh_and_the_tasks_refresh(client, mentor, manager, school):
    client.force_login(mentor)

    response = client.post(
        f"/clients/{school.pk}/tasks/",
        {
            "task-assignee": manager.pk,
            "task-title": "Позвонить главбуху",
            "task-due_on": "2026-12-07",
        },
        HTTP_HX_REQUEST="true",
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert body.strip().startswith('<form id="give-task-form"')
    assert 'id="open-tasks" data-testid="open-tasks" hx-swap-oob="true"' in body
    assert "Позвонить главбуху" in body


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"task-title": "  "}, "title", "Обязательное поле."),
        ({"task-due_on": "2026-12-03"}, "due_on", "Срок задачи — сегодня или позже."),
        ({"task-due_on": "2031-01-01"}, "due_on", None),
        ({"task-assignee": "999999"}, "assignee", None),
    ],
)
def test_bad_input_stays_on_the_card_naming_the_field(
    client, mentor, manager, school, changes, field, message
):
    client.force_login(mentor)
    data = {"task-assignee": manager.pk, "task-title": "Позвонить", "task-due_on": "2026-12-07"}

    response = client.post(f"/clients/{school.pk}/tasks/", data | changes)

    assert response.status_code == 422
    errors = response.context["task_form"].errors
    assert set(errors) == {field}
    if message:
        assert errors[field] == [message]
    assert not Task.objects.filter(kind=TaskKind.MANUAL).exists()
    assert not Notification.objects.exists()


def test_a_manager_gives_only_themselves_a_task(client, manager, colleague, school):
    client.force_login(manager)

    refused = client.post(
        f"/clients/{school.pk}/tasks/",
        {"task-assignee": colleague.pk, "task-title": "Позвонить", "task-due_on": "2026-12-07"},
    )
    kept = client.post(
        f"/clients/{school.pk}/tasks/",
        {"task-assignee": manager.pk, "task-title": "Подготовить КП", "task-due_on": "2026-12-07"},
    )

    assert refused.status_code == 422
    assert kept.status_code == 302
    assert list(Task.objects.values_list("assignee", "title")) == [(manager.pk, "Подготовить КП")]
    assert not Notification.objects.exists()
