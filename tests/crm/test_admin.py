"""The admin: every domain model is there, nothing can be hard-deleted, lists do not grow queries."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clients.models import (
    Client,
    ClientAssignment,
    ClientRequest,
    Contract,
    Interaction,
    Referral,
    Task,
)
from kpi.models import Goal, KpiSnapshot
from retention.models import LostCase
from staff.models import Role, User
from tests.factories import ClientFactory, ContractFactory, LostCaseFactory, UserFactory

DOMAIN_MODELS = [
    User,
    Client,
    Contract,
    ClientAssignment,
    Interaction,
    ClientRequest,
    Referral,
    Task,
    LostCase,
    KpiSnapshot,
    Goal,
]


@pytest.fixture
def admin_client(client, db):
    root = UserFactory(
        username="root", role=Role.DIRECTOR, is_staff=True, is_superuser=True, full_name="Root"
    )
    client.force_login(root)
    return client


def _url(model, view: str, *args) -> str:
    from django.urls import reverse

    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("model", DOMAIN_MODELS, ids=lambda m: m.__name__)
def test_every_domain_model_has_a_working_changelist(admin_client, model):
    assert model in admin.site._registry

    response = admin_client.get(_url(model, "changelist"))

    assert response.status_code == 200


@pytest.mark.parametrize("model", DOMAIN_MODELS, ids=lambda m: m.__name__)
def test_nothing_can_be_deleted_from_the_admin(admin_client, rf, model):
    model_admin = admin.site._registry[model]
    request = rf.get("/")
    request.user = User.objects.get(username="root")

    assert model_admin.has_delete_permission(request) is False
    assert "delete_selected" not in model_admin.get_actions(request)


def test_delete_page_of_a_client_is_forbidden(admin_client, manager):
    client_row = ClientFactory(manager=manager)

    response = admin_client.post(_url(Client, "delete", client_row.pk), {"post": "yes"})

    assert response.status_code == 403
    assert Client.objects.filter(pk=client_row.pk).exists()


def test_client_and_case_pages_open_with_history(admin_client, manager):
    case = LostCaseFactory(client=ContractFactory(client__manager=manager).client)

    assert admin_client.get(_url(Client, "change", case.client_id)).status_code == 200
    assert admin_client.get(_url(Client, "history", case.client_id)).status_code == 200
    assert admin_client.get(_url(LostCase, "change", case.pk)).status_code == 200
    assert admin_client.get(_url(User, "change", manager.pk)).status_code == 200


def test_workflow_fields_are_read_only(admin_client, manager, colleague):
    client_row = ClientFactory(manager=manager, name="Школа")
    form = {
        "name": "Школа № 1",
        "inn": client_row.inn,
        "kpp": "",
        "kind": client_row.kind,
        "region": "",
        "city": "",
        "acquisition_channel": client_row.acquisition_channel,
        "manager": colleague.pk,
        "status": "active",
    }
    for prefix in ("contacts", "contracts", "assignments"):
        form |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}

    response = admin_client.post(_url(Client, "change", client_row.pk), form)

    assert response.status_code == 302
    client_row.refresh_from_db()
    assert (client_row.name, client_row.manager_id, client_row.status) == (
        "Школа № 1",
        manager.pk,
        "prospect",
    )


def _changelist_queries(admin_client, model) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert admin_client.get(_url(model, "changelist")).status_code == 200
    return len(queries)


@pytest.mark.parametrize("model", [Client, Contract, ClientAssignment], ids=lambda m: m.__name__)
def test_changelist_queries_do_not_grow_with_rows(admin_client, manager, colleague, model):
    ContractFactory.create_batch(2, client__manager=manager)
    small = _changelist_queries(admin_client, model)

    ContractFactory.create_batch(10, client__manager=colleague)
    large = _changelist_queries(admin_client, model)

    assert small == large
