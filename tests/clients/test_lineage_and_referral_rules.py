"""SPEC §10: the merge lineage (``parent``) is a tree on every write path — the services, the API
and the admin. SPEC §14: a referral naming an existing client's INN is refused without naming the
client; one sharing its INN with another open lead is flagged as a duplicate on both."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clients.models import MAX_LINEAGE_DEPTH, Client, ClientKind, Referral
from clients.selectors import referrals_with_duplicates
from clients.services import client_create, client_update, referral_create
from referrals.services import referral_lose
from staff.models import Role
from tests.api.conftest import api_client
from tests.factories import ClientFactory, UserFactory, make_inn

HTMX = {"HTTP_HX_REQUEST": "true"}
SBERBANK_INN = "7707083893"

pytestmark = pytest.mark.frozen_clock("2026-11-15 03:00:00")


def chain(manager, length: int) -> list[Client]:
    """``length`` clients, each merged into the one before it: [root, child, grandchild, ...]."""
    clients = [ClientFactory(manager=manager)]
    for _ in range(length - 1):
        clients.append(ClientFactory(manager=manager, parent=clients[-1]))
    return clients


def parents() -> dict[int, int | None]:
    return dict(Client.objects.values_list("pk", "parent_id"))


def has_cycle(graph: dict[int, int | None]) -> bool:
    for start in graph:
        seen = set()
        node: int | None = start
        while node is not None:
            if node in seen:
                return True
            seen.add(node)
            node = graph[node]
    return False


# --- parent: the services ---------------------------------------------------------------------


@pytest.mark.parametrize("length", [1, 2, 7], ids=["self", "two-step", "long"])
def test_client_update_refuses_a_parent_below_the_client(manager, length):
    clients = chain(manager, length)
    root, deepest = clients[0], clients[-1]
    before = parents()

    with pytest.raises(ValidationError) as exc:
        client_update(actor=manager, client=root, parent=deepest)

    assert set(exc.value.message_dict) == {"parent"}
    assert parents() == before


def test_a_legitimate_tree_is_accepted(manager):
    root, child = chain(manager, 2)
    sibling = ClientFactory(manager=manager)

    client_update(actor=manager, client=sibling, parent=root)
    grandchild = client_create(
        actor=manager, name="Филиал", inn=SBERBANK_INN, kind=ClientKind.SCHOOL,
        acquisition_channel="inbound", parent=child,
    )  # fmt: skip

    assert parents()[sibling.pk] == root.pk
    assert parents()[grandchild.pk] == child.pk
    assert not has_cycle(parents())


def test_a_cycle_stored_before_the_rule_does_not_loop_the_walk(manager):
    first, second = chain(manager, 2)
    Client.objects.filter(pk=first.pk).update(parent=second)  # a bad row from older data
    count = Client.objects.count()

    with pytest.raises(ValidationError) as exc:
        client_create(
            actor=manager, name="Филиал", inn=SBERBANK_INN, kind=ClientKind.SCHOOL,
            acquisition_channel="inbound", parent=second,
        )  # fmt: skip

    assert set(exc.value.message_dict) == {"parent"}
    assert Client.objects.count() == count


def test_the_walk_is_bounded_by_the_lineage_depth(manager):
    clients = chain(manager, MAX_LINEAGE_DEPTH + 1)
    newcomer = ClientFactory(manager=manager)

    with pytest.raises(ValidationError) as exc:
        client_update(actor=manager, client=newcomer, parent=clients[-1])

    assert set(exc.value.message_dict) == {"parent"}


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(st.tuples(st.integers(0, 4), st.one_of(st.none(), st.integers(0, 4))), max_size=15))
def test_random_parent_assignments_keep_the_lineage_acyclic(manager, moves):
    with transaction.atomic():
        ids = [ClientFactory(manager=manager).pk for _ in range(5)]
        refused: list[set[str]] = []
        for child, parent in moves:
            target = Client.objects.get(pk=ids[child])
            new_parent = None if parent is None else Client.objects.get(pk=ids[parent])
            try:
                client_update(actor=manager, client=target, parent=new_parent)
            except ValidationError as error:
                refused.append(set(error.message_dict))

        assert not has_cycle(parents())
        assert all(fields == {"parent"} for fields in refused)
        transaction.set_rollback(True)


# --- parent: the API and the admin ------------------------------------------------------------


@pytest.mark.parametrize("length", [1, 2, 7], ids=["self", "two-step", "long"])
def test_api_patch_refuses_a_cycle_naming_parent(manager, length):
    clients = chain(manager, length)
    before = parents()

    response = api_client(manager).patch(
        f"/api/v1/clients/{clients[0].pk}/", {"parent": clients[-1].pk}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["parent"]
    assert parents() == before


def test_api_patch_accepts_a_tree(manager):
    _root, child = chain(manager, 2)
    leaf = ClientFactory(manager=manager)

    response = api_client(manager).patch(
        f"/api/v1/clients/{leaf.pk}/", {"parent": child.pk}, format="json"
    )

    assert response.status_code == 200
    assert parents()[leaf.pk] == child.pk


@pytest.fixture
def admin_client(client, db):
    root = UserFactory(
        username="root", role=Role.DIRECTOR, is_staff=True, is_superuser=True, full_name="Root"
    )
    client.force_login(root)
    return client


def _admin_form(row: Client, parent: Client | None) -> dict:
    form = {
        "name": row.name,
        "inn": row.inn,
        "kpp": "",
        "kind": row.kind,
        "region": "",
        "city": "",
        "acquisition_channel": row.acquisition_channel,
        "referred_by": "",
        "parent": parent.pk if parent else "",
    }
    for prefix in ("contacts", "contracts", "assignments"):
        form |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}
    return form


@pytest.mark.parametrize("length", [1, 2, 7], ids=["self", "two-step", "long"])
def test_admin_refuses_a_cycle_on_the_parent_field(admin_client, manager, length):
    clients = chain(manager, length)
    before = parents()
    url = reverse("admin:clients_client_change", args=[clients[0].pk])

    response = admin_client.post(url, _admin_form(clients[0], clients[-1]))

    assert response.status_code == 200
    assert "parent" in response.context["adminform"].form.errors
    assert parents() == before


def test_admin_accepts_a_tree(admin_client, manager):
    root = ClientFactory(manager=manager)
    leaf = ClientFactory(manager=manager)
    url = reverse("admin:clients_client_change", args=[leaf.pk])

    response = admin_client.post(url, _admin_form(leaf, root))

    assert response.status_code == 302
    assert parents()[leaf.pk] == root.pk


# --- referrals: an existing client's INN ------------------------------------------------------


@pytest.fixture
def referrer(manager):
    return ClientFactory(manager=manager, name="МБОУ СОШ № 12")


@pytest.mark.parametrize("typed", [SBERBANK_INN, "7707 083-893"])
def test_referral_of_an_existing_client_is_refused_without_naming_it(manager, referrer, typed):
    owner = UserFactory(role=Role.CLIENT_MANAGER, full_name="Сидорова Анна")
    ClientFactory(manager=owner, name="Гимназия № 1", inn=SBERBANK_INN)

    with translation.override("en"), pytest.raises(ValidationError) as exc:
        referral_create(actor=manager, referrer=referrer, organisation="Гимназия", inn=typed)

    assert set(exc.value.message_dict) == {"inn"}
    message = " ".join(exc.value.message_dict["inn"])
    assert "already a client of the company" in message
    assert "Сидорова" not in message
    assert "Гимназия № 1" not in message
    assert not Referral.objects.exists()


def test_referral_inn_is_stored_digits_only(manager, referrer):
    referral = referral_create(
        actor=manager, referrer=referrer, organisation="Гимназия", inn=" 7707 083-893 "
    )

    assert referral.inn == SBERBANK_INN


def test_api_refuses_a_referral_of_an_existing_client(manager, referrer):
    ClientFactory(manager=manager, inn=SBERBANK_INN)

    response = api_client(manager).post(
        "/api/v1/referrals/",
        {"referrer": referrer.pk, "organisation": "Гимназия", "inn": SBERBANK_INN},
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()) == ["inn"]
    assert not Referral.objects.exists()


def test_card_form_refuses_a_referral_of_an_existing_client(client, manager, referrer):
    ClientFactory(manager=manager, inn=SBERBANK_INN)
    client.force_login(manager)

    response = client.post(
        f"/clients/{referrer.pk}/referrals/",
        {"referral-organisation": "Гимназия", "referral-inn": SBERBANK_INN},
        HTTP_ACCEPT_LANGUAGE="en",
        **HTMX,
    )

    html = response.content.decode()
    assert re.search(r'<div class="field field-invalid field-inn">.*?errorlist', html, re.S)
    assert not Referral.objects.exists()


# --- referrals: duplicates of an open lead ----------------------------------------------------


def _flags() -> dict[int, bool]:
    return dict(referrals_with_duplicates(Referral.objects.all()).values_list("pk", "is_duplicate"))


def test_an_inn_of_another_open_lead_is_accepted_and_flags_both(manager, referrer):
    other_referrer = ClientFactory(manager=manager)
    first = referral_create(actor=manager, referrer=referrer, organisation="А", inn=make_inn(900))
    second = referral_create(
        actor=manager, referrer=other_referrer, organisation="Б", inn=make_inn(900)
    )
    single = referral_create(actor=manager, referrer=referrer, organisation="В", inn=make_inn(901))
    no_inn = [referral_create(actor=manager, referrer=referrer, organisation=name) for name in "ГД"]

    assert _flags() == {
        first.pk: True,
        second.pk: True,
        single.pk: False,
        no_inn[0].pk: False,
        no_inn[1].pk: False,
    }


def test_a_closed_lead_is_no_duplicate(manager, referrer):
    lost = referral_create(actor=manager, referrer=referrer, organisation="А", inn=make_inn(902))
    referral_lose(actor=manager, referral=lost, reason="Выбрали другого подрядчика")
    fresh = referral_create(actor=manager, referrer=referrer, organisation="Б", inn=make_inn(902))

    assert _flags() == {lost.pk: False, fresh.pk: False}


def test_api_shows_the_duplicate_flag_on_both_leads(manager, referrer):
    api = api_client(manager)
    body = {"referrer": referrer.pk, "organisation": "А", "inn": make_inn(903)}

    first = api.post("/api/v1/referrals/", body, format="json")
    second = api.post("/api/v1/referrals/", body | {"organisation": "Б"}, format="json")
    listed = api.get("/api/v1/referrals/").json()["results"]

    assert (first.status_code, first.json()["is_duplicate"]) == (201, False)
    assert (second.status_code, second.json()["is_duplicate"]) == (201, True)
    assert {row["organisation"]: row["is_duplicate"] for row in listed} == {"А": True, "Б": True}


def test_card_shows_the_duplicate_flag(client, manager, referrer):
    referral_create(actor=manager, referrer=referrer, organisation="А", inn=make_inn(904))
    referral_create(actor=manager, referrer=referrer, organisation="Б", inn=make_inn(904))
    referral_create(actor=manager, referrer=referrer, organisation="В", inn=make_inn(905))
    client.force_login(manager)

    html = client.get(f"/clients/{referrer.pk}/").content.decode()

    assert html.count('data-testid="referral-duplicate"') == 2
