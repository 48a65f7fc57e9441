"""The audit trail (RELIABILITY R24, R25): written for every audited change with its actor,
append-only in PostgreSQL, readable only through the scoped client card and the admin."""

from __future__ import annotations

import datetime

import pytest
from django.apps import apps
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from clients.models import Client, ClientRequest
from core.audit import record_update
from retention.models import LostCase
from tests.conftest import requires_postgres
from tests.factories import ClientFactory, ContractFactory
from tests.security.conftest import login


def _history_tables() -> list[str]:
    return sorted(
        model._meta.db_table
        for model in apps.get_models()
        if model.__name__.startswith("Historical")
    )


def test_the_audited_models_are_the_ones_of_the_spec():
    assert _history_tables() == [
        "clients_historicalclient",
        "clients_historicalclientassignment",
        "clients_historicalclientrequest",
        "clients_historicalcontract",
        "retention_historicallostcase",
        "staff_historicaluser",
    ]


@requires_postgres
@pytest.mark.postgres
@pytest.mark.parametrize("table", _history_tables() if apps.ready else [])
def test_every_history_table_refuses_update_and_delete(db, manager, table):
    client = ClientFactory(manager=manager)
    ContractFactory(client=client)
    LostCase.objects.create(
        client=client, lost_on=datetime.date(2026, 10, 1), lost_by=manager, reason="price"
    )
    opened = timezone.now()
    ClientRequest.objects.create(
        client=client, logged_by=manager, topic="Заявка", opened_at=opened, due_at=opened
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - model table names
        (rows,) = cursor.fetchone()
    assert rows >= 1
    for statement in (
        f"UPDATE {table} SET history_change_reason = 'rewritten'",  # noqa: S608 - model table names
        f"DELETE FROM {table}",  # noqa: S608 - model table names
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            connection.cursor().execute(statement)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - model table names
        assert cursor.fetchone() == (rows,)


@requires_postgres
@pytest.mark.postgres
def test_the_orm_cannot_rewrite_history_either_but_can_append(db, director, manager):
    client = ClientFactory(manager=manager)
    client.city = "Ачинск"
    client.save()
    history = Client.history.filter(id=client.pk)
    count = history.count()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        history.update(history_user=director)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        history.first().delete()
    record_update(client, actor=director, reason="checked")
    assert history.count() == count + 1


def test_a_reassignment_through_the_api_writes_one_history_row_with_the_actor(world):
    target = world.clients["manager"][0]
    before = Client.history.filter(id=target.pk).count()
    response = login(world, "director").post(
        f"/api/v1/clients/{target.pk}/reassign/",
        {"manager": world.user("colleague").pk},
        format="json",
    )
    assert response.status_code == 200
    rows = Client.history.filter(id=target.pk).order_by("-history_id")
    assert rows.count() == before + 1
    latest = rows.first()
    assert (latest.manager_id, latest.history_user) == (
        world.user("colleague").pk,
        world.user("director"),
    )


def test_history_has_no_api_and_its_admin_pages_need_staff(world):
    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert not [path for path in schema["paths"] if "histor" in path]
    target = world.clients["manager"][0]
    for role in ("manager", "mentor", "return_manager"):
        response = login(world, role).get(f"/admin/clients/client/{target.pk}/history/")
        assert response.status_code == 302, role
        assert "/admin/login/" in response["Location"]


def test_an_invisible_clients_card_with_its_history_is_a_404(world):
    target = world.clients["other_manager"][0]
    assert login(world, "manager").get(f"/clients/{target.pk}/").status_code == 404
