"""lost-cases/{id}/return/ with a day ahead and lost-cases/{id}/withdraw-return/ (SPEC §3.3, §7,
§10): during a free month a future starts_on records an agreed return (202) and writes nothing
else; outside the allowed window it is a 400 naming starts_on."""

from __future__ import annotations

import datetime

from django.utils import timezone

from clients.models import Client, ClientAssignment, Contract
from core.dates import one_month_period_end
from retention.models import CaseStatus, LostCase
from tests.api.conftest import api_client

CASES = "/api/v1/lost-cases/"
ONE_DAY = datetime.timedelta(days=1)


def start_free_month(world, starts_on: datetime.date | None = None) -> datetime.date:
    """The claimed case's free month from ``starts_on`` (today); returns the day after it
    ends."""
    starts_on = starts_on or timezone.localdate()
    response = api_client(world.return_manager).post(
        f"{CASES}{world.claimed_case.pk}/start-free-month/",
        {"starts_on": starts_on.isoformat()},
        format="json",
    )
    assert response.status_code == 200
    return one_month_period_end(starts_on) + ONE_DAY


def written(world) -> tuple:
    client = world.claimed_case.client_id
    return (
        sorted(Contract.objects.filter(client=client).values_list("pk", "starts_on", "ends_on")),
        sorted(
            ClientAssignment.objects.filter(client=client).values_list(
                "pk", "manager_id", "ends_on"
            )
        ),
    )


def post_return(world, starts_on: datetime.date, **extra):
    return api_client(world.return_manager).post(
        f"{CASES}{world.claimed_case.pk}/return/",
        {
            "manager": world.colleague.pk,
            "starts_on": starts_on.isoformat(),
            "monthly_fee": "7000",
            **extra,
        },
        format="json",
    )


def test_a_day_ahead_in_the_free_month_is_agreed_202_and_writes_nothing_else(world):
    day_after = start_free_month(world)
    before = written(world)

    response = post_return(world, day_after, number="В-15")

    assert response.status_code == 202
    body = response.json()
    assert (body["status"], body["closed_on"], body["new_manager"]) == ("free_month", None, None)
    assert body["agreed_return"] == {
        "agreed_on": timezone.localdate().isoformat(),
        "agreed_by": world.return_manager.pk,
        "starts_on": day_after.isoformat(),
        "monthly_fee": "7000.00",
        "manager": world.colleague.pk,
        "number": "В-15",
        "carried_out": False,
        "failure": "",
    }
    assert written(world) == before
    assert Client.objects.get(pk=world.claimed_case.client_id).manager == world.manager
    detail = api_client(world.return_manager).get(f"{CASES}{world.claimed_case.pk}/").json()
    assert detail["agreed_return"]["starts_on"] == day_after.isoformat()


def test_today_still_returns_at_once_200(world):
    start_free_month(world, world.claimed_case.lost_on)

    response = post_return(world, timezone.localdate())

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["agreed_return"]) == ("returned", None)


def test_a_day_past_the_free_month_is_400_on_starts_on(world):
    day_after = start_free_month(world)
    before = written(world)

    response = post_return(world, day_after + ONE_DAY)

    assert response.status_code == 400
    assert list(response.json()) == ["starts_on"]
    assert written(world) == before
    assert LostCase.objects.get(pk=world.claimed_case.pk).agreed_starts_on is None


def test_a_day_ahead_without_a_free_month_is_400_on_starts_on(world):
    before = written(world)

    response = post_return(world, timezone.localdate() + ONE_DAY)

    assert response.status_code == 400
    assert list(response.json()) == ["starts_on"]
    assert written(world) == before
    assert LostCase.objects.get(pk=world.claimed_case.pk).status == CaseStatus.CLAIMED


def test_an_agreement_to_the_manager_who_lost_it_is_400_on_manager(world):
    day_after = start_free_month(world)

    response = post_return(world, day_after, manager=world.manager.pk)

    assert response.status_code == 400
    assert list(response.json()) == ["manager"]
    assert LostCase.objects.get(pk=world.claimed_case.pk).agreed_starts_on is None


def test_withdraw_then_withdraw_again_is_409(world):
    day_after = start_free_month(world)
    post_return(world, day_after)
    url = f"{CASES}{world.claimed_case.pk}/withdraw-return/"

    first = api_client(world.return_manager).post(url)
    second = api_client(world.return_manager).post(url)

    assert first.status_code == 200
    assert (first.json()["status"], first.json()["agreed_return"]) == ("free_month", None)
    assert second.status_code == 409
    assert second.json()["detail"]


def test_other_roles_cannot_agree_or_withdraw(world, second_return_manager):
    day_after = start_free_month(world)
    url = f"{CASES}{world.claimed_case.pk}/"
    body = {
        "manager": world.colleague.pk,
        "starts_on": day_after.isoformat(),
        "monthly_fee": "7000",
    }

    answers = [
        api_client(second_return_manager).post(f"{url}return/", body, format="json").status_code,
        api_client(second_return_manager).post(f"{url}withdraw-return/").status_code,
        api_client(world.manager).post(f"{url}return/", body, format="json").status_code,
        api_client(world.manager).post(f"{url}withdraw-return/").status_code,
    ]

    assert answers == [403, 403, 403, 403]
    assert LostCase.objects.get(pk=world.claimed_case.pk).agreed_starts_on is None
