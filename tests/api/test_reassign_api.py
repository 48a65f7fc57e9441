"""POST clients/reassign/: a selection of clients to one person or spread, all or nothing, the
same service as the client list's bulk form (SPEC §3.6, §7)."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from clients.models import AssignmentReason, Client, ClientAssignment, ClientStatus
from tests.api.conftest import api_client
from tests.factories import ClientFactory

URL = "/api/v1/clients/reassign/"

pytestmark = pytest.mark.frozen_clock("2026-11-20 08:00:00")


def active(manager, count: int, prefix: str = "Школа") -> list[Client]:
    return [
        ClientFactory(manager=manager, name=f"{prefix} {n}", status=ClientStatus.ACTIVE)
        for n in range(count)
    ]


def owners(clients) -> list[str]:
    return [Client.objects.get(pk=c.pk).manager.username for c in clients]


def post(user, body):
    return api_client(user).post(URL, body, format="json")


def test_the_director_gives_a_selection_to_one_person(director, manager, outsider, colleague):
    selection = [*active(manager, 2), *active(outsider, 1, "Сад")]

    response = post(
        director,
        {
            "clients": [c.pk for c in selection],
            "manager": colleague.pk,
            "effective_on": "2026-11-18",
        },
    )

    assert response.status_code == 200
    assert response.json() == {
        "reassigned": [{"client": c.pk, "manager": colleague.pk} for c in selection]
    }
    assert set(
        ClientAssignment.objects.filter(ends_on__isnull=True).values_list(
            "client__name", "manager__username", "starts_on", "reason"
        )
    ) == {
        (name, "colleague", datetime.date(2026, 11, 18), AssignmentReason.REASSIGN)
        for name in ("Школа 0", "Школа 1", "Сад 0")
    }


def test_the_mentor_spreads_by_capacity_inside_the_group(mentor, manager, colleague):
    mentor.capacity = 3
    mentor.save(update_fields=["capacity"])
    active(mentor, 4, "Наставника")  # above capacity: takes nothing while Борис has room
    selection = active(manager, 3)

    response = post(mentor, {"clients": [c.pk for c in selection], "manager": "spread"})

    assert response.status_code == 200
    assert [row["manager"] for row in response.json()["reassigned"]] == [colleague.pk] * 3
    assert owners(selection) == ["colleague"] * 3
    assert (
        ClientAssignment.objects.get(client=selection[0], ends_on__isnull=True).starts_on
        == timezone.localdate()
    )


def test_the_reason_may_be_a_handover(sales_manager, manager):
    won = active(sales_manager, 2, "Выигранный")

    response = post(
        sales_manager, {"clients": [c.pk for c in won], "manager": manager.pk, "reason": "handover"}
    )

    assert response.status_code == 200
    assert set(
        ClientAssignment.objects.filter(ends_on__isnull=True).values_list("reason", flat=True)
    ) == {AssignmentReason.HANDOVER}


def assert_nothing_moved(clients, usernames):
    assert owners(clients) == usernames
    assert not ClientAssignment.objects.filter(reason=AssignmentReason.REASSIGN).exists()


def test_a_client_the_mentor_cannot_see_is_a_400_on_clients(mentor, manager, colleague, outsider):
    ours, theirs = active(manager, 1), active(outsider, 1, "Чужой")

    response = post(mentor, {"clients": [ours[0].pk, theirs[0].pk], "manager": colleague.pk})

    assert response.status_code == 400
    assert list(response.json()) == ["clients"]
    assert str(theirs[0].pk) in response.json()["clients"][0]
    assert_nothing_moved([*ours, *theirs], ["manager", "outsider"])


def test_a_mentor_naming_someone_outside_the_group_gets_a_400_on_manager(mentor, manager, outsider):
    selection = active(manager, 2)

    response = post(mentor, {"clients": [c.pk for c in selection], "manager": outsider.pk})

    assert response.status_code == 400
    assert list(response.json()) == ["manager"]
    assert_nothing_moved(selection, ["manager", "manager"])


def test_one_client_already_with_the_target_refuses_the_whole_batch(director, manager, colleague):
    mine, already = active(manager, 1, "Первый"), active(colleague, 1, "Уже")

    response = post(director, {"clients": [mine[0].pk, already[0].pk], "manager": colleague.pk})

    assert response.status_code == 400
    assert list(response.json()) == ["manager"]
    assert response.json()["manager"][0].startswith("Уже 0: ")
    assert_nothing_moved([*mine, *already], ["manager", "colleague"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"clients": []}, "clients"),
        ({"clients": "1"}, "clients"),
        ({"clients": [0]}, "clients"),
        ({"manager": "everyone"}, "manager"),
        ({"manager": True}, "manager"),
        ({"manager": "spread out"}, "manager"),
        ({"manager": 1.5}, "manager"),
        ({"manager": 999999}, "manager"),
        ({"effective_on": "2026-11-21"}, "effective_on"),
        ({"effective_on": "1999-12-31"}, "effective_on"),
        ({"reason": "dismissal"}, "reason"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(director, manager, colleague, body, field):
    selection = active(manager, 2)
    full = {"clients": [c.pk for c in selection], "manager": colleague.pk, **body}

    response = post(director, full)

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert_nothing_moved(selection, ["manager", "manager"])


def test_more_clients_than_a_batch_takes_is_a_400(director, colleague):
    response = post(director, {"clients": list(range(1, 502)), "manager": colleague.pk})

    assert response.status_code == 400
    assert list(response.json()) == ["clients"]


@pytest.mark.parametrize("role_fixture", ["manager", "return_manager"])
def test_roles_without_the_capability_get_403(request, role_fixture, manager, colleague):
    selection = active(manager, 1)

    response = post(
        request.getfixturevalue(role_fixture),
        {"clients": [selection[0].pk], "manager": colleague.pk},
    )

    assert response.status_code == 403
    assert owners(selection) == ["manager"]


def test_the_schema_documents_a_person_or_spread(db):
    schema = SchemaGenerator().get_schema(request=None, public=True)

    operation = schema["paths"]["/api/v1/clients/reassign/"]["post"]
    body = schema["components"]["schemas"]["ClientsReassign"]
    assert operation["summary"] == "Give a selection of clients to another manager, or spread them"
    assert operation["operationId"] == "clients_reassign_many"  # not a clash with the single one
    assert body["properties"]["manager"]["oneOf"][1] == {"type": "string", "enum": ["spread"]}
    assert body["required"] == ["clients", "manager"]
    assert (
        body["properties"]["clients"]["minItems"],
        body["properties"]["clients"]["maxItems"],
    ) == (
        1,
        500,
    )
