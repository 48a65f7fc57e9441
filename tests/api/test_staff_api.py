"""staff/ endpoints: who sees whom, hiring, dismissal with handover (SPEC §7, §3.6)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from clients.models import ClientAssignment
from staff.models import Role, User
from tests.api.conftest import api_client
from tests.factories import ClientFactory

STAFF = "/api/v1/staff/"


def _usernames(user) -> set[str]:
    return {row["username"] for row in api_client(user).get(STAFF).json()["results"]}


def test_who_sees_whom(world):
    everyone = set(User.objects.values_list("username", flat=True))

    assert _usernames(world.director) == everyone
    assert _usernames(world.mentor) == {"mentor", "manager", "colleague"}
    assert _usernames(world.manager) == {"manager"}
    assert _usernames(world.return_manager) == {
        "returner",
        "mentor",
        "manager",
        "colleague",
        "mentor2",
        "outsider",
    }


def test_staff_rows_never_carry_the_password(world):
    row = api_client(world.director).get(STAFF, {"role": "mentor"}).json()["results"][0]

    assert "password" not in row
    assert set(row) >= {"id", "username", "full_name", "role", "mentor", "capacity"}


def _hire(**overrides) -> dict:
    return {
        "username": "petrov",
        "password": "Long-enough-passphrase-42",
        "full_name": "Петров Пётр",
        "role": "client_manager",
        "hired_on": "2026-09-01",
        "ramp_until": "2027-01-31",
        "capacity": 120,
        **overrides,
    }


def test_director_hires_a_trainee_in_a_group(world):
    response = api_client(world.director).post(
        STAFF, _hire(mentor=world.mentor.pk, is_superuser=True, is_staff=True), format="json"
    )

    assert response.status_code == 201
    assert "password" not in response.json()
    user = User.objects.get(username="petrov")
    assert (user.role, user.mentor, user.capacity, user.is_superuser, user.is_staff) == (
        Role.CLIENT_MANAGER,
        world.mentor,
        120,
        False,
        False,
    )
    assert user.check_password("Long-enough-passphrase-42")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"password": "12345678"}, "password"),
        ({"password": "petrov123"}, "password"),
        ({"role": "ceo"}, "role"),
        ({"username": "manager"}, "username"),
        ({"full_name": ""}, "full_name"),
        ({"capacity": -1}, "capacity"),
        ({"ramp_until": "2026-01-01"}, "ramp_until"),
    ],
)
def test_bad_hire_names_the_field_and_writes_nothing(world, overrides, field):
    before = User.objects.count()

    response = api_client(world.director).post(STAFF, _hire(**overrides), format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert User.objects.count() == before


def test_mentor_must_be_a_mentor(world):
    response = api_client(world.director).post(
        STAFF, _hire(mentor=world.colleague.pk), format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["mentor"]


def test_dismiss_spreads_the_book_over_the_group(world):
    first, second = ClientFactory.create_batch(2, manager=world.colleague)
    first_original = world.colleague_client

    response = api_client(world.director).post(
        f"{STAFF}{world.colleague.pk}/dismiss/", {"handover": "spread"}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["staff"]["is_active"], body["staff"]["dismissed_on"]) == (
        False,
        timezone.localdate().isoformat(),
    )
    moved = {row["client"]: row["manager"] for row in body["handover"]}
    assert set(moved) == {first_original.pk, first.pk, second.pk}
    assert set(moved.values()) <= {world.mentor.pk, world.manager.pk}
    assert not ClientAssignment.objects.filter(manager=world.colleague, ends_on__isnull=True)


def test_dismiss_with_an_explicit_handover(world):
    response = api_client(world.director).post(
        f"{STAFF}{world.colleague.pk}/dismiss/",
        {"handover": [{"client": world.colleague_client.pk, "manager": world.outsider.pk}]},
        format="json",
    )

    assert response.status_code == 200
    world.colleague_client.refresh_from_db()
    assert world.colleague_client.manager == world.outsider


@pytest.mark.parametrize(
    "handover",
    ["everyone", [], [{"client": 0, "manager": 0}], {"client": 1}],
    ids=["unknown word", "missing client", "unknown ids", "not a list"],
)
def test_bad_handover_is_400_on_handover_and_dismisses_nobody(world, handover):
    response = api_client(world.director).post(
        f"{STAFF}{world.colleague.pk}/dismiss/", {"handover": handover}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["handover"]
    world.colleague.refresh_from_db()
    assert world.colleague.is_active


def test_dismiss_in_the_future_is_400_on_dismissed_on(world):
    response = api_client(world.director).post(
        f"{STAFF}{world.colleague.pk}/dismiss/", {"dismissed_on": "2999-01-01"}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["dismissed_on"]


def test_a_dismissed_user_loses_api_access(world):
    client = api_client(world.colleague)
    api_client(world.director).post(f"{STAFF}{world.colleague.pk}/dismiss/", {}, format="json")

    assert client.get("/api/v1/clients/").status_code == 401
