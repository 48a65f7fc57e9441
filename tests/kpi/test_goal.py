"""The director's growth goal (SPEC §4 "Goal"): the ``goal_set`` service and the editor page."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from kpi.models import Goal, KpiSnapshot, Scope
from kpi.services import goal_set

D = datetime.date


def test_goal_set_stores_a_new_goal_and_keeps_the_old_one(director):
    first = goal_set(
        actor=director,
        start_on=D(2026, 1, 1),
        start_clients=1500,
        target_on=D(2029, 1, 1),
        target_clients=6000,
    )
    second = goal_set(
        actor=director,
        start_on=D(2026, 6, 1),
        start_clients=1600,
        target_on=D(2029, 6, 1),
        target_clients=6400,
    )
    assert Goal.objects.count() == 2
    assert Goal.objects.first() == second
    assert (second.start_clients, second.target_clients, second.created_by) == (
        1600,
        6400,
        director,
    )
    first.refresh_from_db()
    assert first.target_clients == 6000


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"target_on": D(2026, 1, 1)}, ["target_on"]),
        ({"target_on": D(2025, 12, 31)}, ["target_on"]),
        ({"start_clients": 0}, ["start_clients"]),
        ({"target_clients": 1000}, ["target_clients"]),
        ({"start_clients": 0, "target_on": D(2025, 1, 1)}, ["start_clients", "target_on"]),
    ],
)
def test_goal_set_names_the_bad_fields_and_writes_nothing(director, changes, fields):
    values = {
        "start_on": D(2026, 1, 1),
        "start_clients": 1500,
        "target_on": D(2029, 1, 1),
        "target_clients": 6000,
        **changes,
    }
    with pytest.raises(ValidationError) as error:
        goal_set(actor=director, **values)
    assert sorted(error.value.message_dict) == fields
    assert Goal.objects.count() == 0


def test_only_the_director_sets_the_goal(mentor):
    with pytest.raises(PermissionDenied):
        goal_set(
            actor=mentor,
            start_on=D(2026, 1, 1),
            start_clients=1500,
            target_on=D(2029, 1, 1),
            target_clients=6000,
        )
    assert Goal.objects.count() == 0


# --- the editor -------------------------------------------------------------------------------


def test_the_editor_starts_from_four_times_todays_base(client, director):
    KpiSnapshot.objects.create(
        month=timezone.localdate().replace(day=1),
        scope=Scope.DEPARTMENT,
        base_end=1500,
        computed_at=timezone.now(),
    )
    client.force_login(director)
    response = client.get("/dashboard/goal/")
    assert response.status_code == 200
    form = response.context["form"]
    today = timezone.localdate()
    assert form.initial["start_on"] == today
    assert form.initial["start_clients"] == 1500
    assert form.initial["target_clients"] == 6000
    assert form.initial["target_on"].year == today.year + 3
    assert 'data-testid="goal-form"' in response.content.decode()


def test_the_editor_starts_from_the_current_goal(client, director):
    Goal.objects.create(
        start_on=D(2026, 1, 1), start_clients=1500, target_on=D(2029, 1, 1), target_clients=6000
    )
    client.force_login(director)
    form = client.get("/dashboard/goal/").context["form"]
    assert form.initial == {
        "start_on": D(2026, 1, 1),
        "start_clients": 1500,
        "target_on": D(2029, 1, 1),
        "target_clients": 6000,
    }


def test_director_saves_a_goal(client, director):
    client.force_login(director)
    response = client.post(
        "/dashboard/goal/",
        {
            "start_on": "2026-11-01",
            "start_clients": "1500",
            "target_on": "2029-11-01",
            "target_clients": "6000",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
    goal = Goal.objects.get()
    assert (goal.start_on, goal.start_clients, goal.target_on, goal.target_clients) == (
        D(2026, 11, 1),
        1500,
        D(2029, 11, 1),
        6000,
    )
    assert goal.created_by == director


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"target_on": "2026-10-01"}, "target_on"),
        ({"target_clients": "100"}, "target_clients"),
        ({"start_clients": "-5"}, "start_clients"),
        ({"start_on": "01.13.2026"}, "start_on"),
        ({"target_clients": ""}, "target_clients"),
    ],
)
def test_bad_goals_are_refused_on_their_field(client, director, data, field):
    client.force_login(director)
    values = {
        "start_on": "2026-11-01",
        "start_clients": "1500",
        "target_on": "2029-11-01",
        "target_clients": "6000",
        **data,
    }
    response = client.post("/dashboard/goal/", values)
    assert response.status_code == 400
    assert list(response.context["form"].errors) == [field]
    assert Goal.objects.count() == 0


@pytest.mark.parametrize("role", ["mentor", "manager", "return_manager", "sales_manager"])
def test_only_the_director_opens_the_editor(client, role, request):
    client.force_login(request.getfixturevalue(role))
    assert client.get("/dashboard/goal/").status_code == 403
    response = client.post(
        "/dashboard/goal/",
        {
            "start_on": "2026-11-01",
            "start_clients": "1500",
            "target_on": "2029-11-01",
            "target_clients": "6000",
        },
    )
    assert response.status_code == 403
    assert Goal.objects.count() == 0
