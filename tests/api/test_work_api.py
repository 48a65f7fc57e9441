"""interactions/, requests/, referrals/ and tasks/ endpoints (SPEC §7, §3.4, §3.5)."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from clients.models import (
    ClientRequest,
    Interaction,
    Referral,
    RequestStatus,
    Task,
    TaskKind,
)
from tests.api.conftest import api_client
from tests.factories import make_inn

INTERACTIONS = "/api/v1/interactions/"
REQUESTS = "/api/v1/requests/"
REFERRALS = "/api/v1/referrals/"
TASKS = "/api/v1/tasks/"


# --- interactions ---------------------------------------------------------------------------


def test_log_a_call_as_the_caller(world):
    response = api_client(world.manager).post(
        INTERACTIONS,
        {
            "client": world.acme.pk,
            "kind": "call_in",
            "outcome": "reached",
            "occurred_at": "2026-11-02T09:30:00+07:00",
            "duration_min": 12,
            "summary": "Вопрос по отчётности",
            "next_contact_on": "2026-12-01",
            "staff": world.colleague.pk,
        },
        format="json",
    )

    assert response.status_code == 201
    call = Interaction.objects.get(pk=response.json()["id"])
    assert (call.staff, call.duration_min, call.next_contact_on) == (
        world.manager,
        12,
        datetime.date(2026, 12, 1),
    )
    assert response.json()["occurred_at"] == "2026-11-02T09:30:00+07:00"


def test_a_call_without_a_time_happened_now(world):
    before = timezone.now()

    response = api_client(world.manager).post(
        INTERACTIONS,
        {"client": world.acme.pk, "kind": "call_out", "outcome": "no_answer"},
        format="json",
    )

    assert response.status_code == 201
    assert Interaction.objects.get(pk=response.json()["id"]).occurred_at >= before


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"occurred_at": "2999-01-01T10:00:00+07:00"}, "occurred_at"),
        ({"kind": "telepathy"}, "kind"),
        ({"outcome": ""}, "outcome"),
        ({"duration_min": -5}, "duration_min"),
        ({"next_contact_on": "2000-01-01"}, "next_contact_on"),
    ],
)
def test_bad_call_names_the_field_and_writes_nothing(world, overrides, field):
    before = Interaction.objects.count()
    body = {"client": world.acme.pk, "kind": "call_out", "outcome": "reached", **overrides}

    response = api_client(world.manager).post(INTERACTIONS, body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert Interaction.objects.count() == before


def test_a_call_with_another_managers_client_does_not_exist(world):
    response = api_client(world.manager).post(
        INTERACTIONS,
        {"client": world.colleague_client.pk, "kind": "call_out", "outcome": "reached"},
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()) == ["client"]


def test_interactions_list_only_visible_clients(world):
    other = Interaction.objects.create(
        client=world.outsider_client,
        staff=world.outsider,
        kind="call_out",
        outcome="reached",
        occurred_at=timezone.now(),
    )

    ids = {row["id"] for row in api_client(world.manager).get(INTERACTIONS).json()["results"]}

    assert ids == {world.interaction.pk}
    assert other.pk not in ids


# --- requests -------------------------------------------------------------------------------


def test_log_a_request_with_its_sla(world):
    response = api_client(world.manager).post(
        REQUESTS,
        {"client": world.acme.pk, "topic": "Срочно сдать отчёт", "urgency": "urgent"},
        format="json",
    )

    assert response.status_code == 201
    request = ClientRequest.objects.get(pk=response.json()["id"])
    assert (request.logged_by, request.status) == (world.manager, RequestStatus.OPEN)
    assert request.due_at - request.opened_at == datetime.timedelta(hours=4)


@pytest.mark.parametrize(
    ("overrides", "field"), [({"topic": ""}, "topic"), ({"urgency": "whenever"}, "urgency")]
)
def test_bad_request_names_the_field_and_writes_nothing(world, overrides, field):
    before = ClientRequest.objects.count()
    body = {"client": world.acme.pk, "topic": "Отчёт", **overrides}

    response = api_client(world.manager).post(REQUESTS, body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert ClientRequest.objects.count() == before


def test_resolve_then_resolving_again_is_409(world):
    url = f"{REQUESTS}{world.open_request.pk}/resolve/"

    first = api_client(world.manager).post(url)
    second = api_client(world.manager).post(url)

    assert first.status_code == 200
    assert first.json()["status"] == "resolved"
    assert second.status_code == 409


def test_refusing_asks_the_mentor(world):
    response = api_client(world.manager).post(
        f"{REQUESTS}{world.open_request.pk}/refuse/",
        {"reason": "Не входит в договор"},
        format="json",
    )

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["refusal_requested_by"]) == (
        "refusal_pending",
        world.manager.pk,
    )
    task = Task.objects.get(kind=TaskKind.REFUSAL_APPROVAL)
    assert (task.assignee, task.client) == (world.mentor, world.acme)


def test_refusing_needs_a_reason(world):
    response = api_client(world.manager).post(
        f"{REQUESTS}{world.open_request.pk}/refuse/", {"reason": "  "}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["reason"]
    world.open_request.refresh_from_db()
    assert world.open_request.status == RequestStatus.OPEN


def test_the_mentor_approves_a_refusal_and_the_manager_cannot(world):
    url = f"{REQUESTS}{world.pending_request.pk}/approve-refusal/"

    by_manager = api_client(world.manager).post(url)
    by_mentor = api_client(world.mentor).post(url)

    assert by_manager.status_code == 403
    assert by_mentor.status_code == 200
    assert (by_mentor.json()["status"], by_mentor.json()["refusal_approved_by"]) == (
        "refused",
        world.mentor.pk,
    )


def test_rejecting_a_refusal_sends_the_request_back_to_work(world):
    response = api_client(world.mentor).post(
        f"{REQUESTS}{world.pending_request.pk}/reject-refusal/",
        {"comment": "Сделаем"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["status"] == "in_progress"


def test_requests_filter_by_status(world):
    response = api_client(world.manager).get(REQUESTS, {"status": "refusal_pending"})

    assert [row["id"] for row in response.json()["results"]] == [world.pending_request.pk]


# --- referrals ------------------------------------------------------------------------------


def test_record_a_referral(world):
    response = api_client(world.manager).post(
        REFERRALS,
        {
            "referrer": world.acme.pk,
            "organisation": "МБОУ СОШ № 5",
            "inn": make_inn(555),
            "contact": "Главбух Мария, +7 391 000-00-00",
            "status": "won",
        },
        format="json",
    )

    assert response.status_code == 201
    referral = Referral.objects.get(pk=response.json()["id"])
    assert (referral.recorded_by, referral.status, referral.referrer) == (
        world.manager,
        "new",
        world.acme,
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [({"inn": "1234567890"}, "inn"), ({"organisation": ""}, "organisation"), ({}, "referrer")],
)
def test_bad_referral_names_the_field_and_writes_nothing(world, overrides, field):
    before = Referral.objects.count()
    body = {"referrer": world.outsider_client.pk, "organisation": "МБОУ", **overrides}
    if field != "referrer":
        body["referrer"] = world.acme.pk

    response = api_client(world.manager).post(REFERRALS, body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert Referral.objects.count() == before


# --- tasks ----------------------------------------------------------------------------------


def test_tasks_are_the_callers_own(world):
    Task.objects.create(assignee=world.colleague, kind=TaskKind.MANUAL, due_on=timezone.localdate())

    mine = api_client(world.manager).get(TASKS).json()["results"]

    assert [row["id"] for row in mine] == [world.task.pk]


def test_done_then_done_again(world):
    url = f"{TASKS}{world.task.pk}/done/"

    first = api_client(world.manager).post(url)
    second = api_client(world.manager).post(url)

    assert first.status_code == 200
    assert first.json()["done_at"] is not None
    assert second.status_code == 400
    assert list(second.json()) == ["task"]
    open_tasks = api_client(world.manager).get(TASKS, {"done": "false"}).json()
    assert open_tasks["count"] == 0
