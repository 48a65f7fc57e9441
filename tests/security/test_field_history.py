"""Trigger-based field history (RELIABILITY R24) and its append-only table (R25).

Whatever writes a tracked field — a service behind the API, the admin, ``QuerySet.update()``,
``bulk_update``, raw SQL or a Celery task — PostgreSQL records exactly one ``FieldChange`` per
changed field, with the actor and the entry point. SQLite has no triggers: PostgreSQL only.
"""

from __future__ import annotations

import datetime
import io
from decimal import Decimal
from importlib import import_module

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.db.migrations.loader import MigrationLoader
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from clients.models import Client, ClientStatus, Contract, TerminationReason
from core import field_history
from core.field_history import TRACKED_FIELDS, acting_as
from core.models import ChangeSource, FieldChange
from crm.nightly import nightly_chain_task
from retention.models import CaseStatus
from staff.models import Role, User
from tests.conftest import PASSWORD, requires_postgres
from tests.factories import ClientFactory, ContractFactory, LostCaseFactory, UserFactory

pytestmark = [requires_postgres, pytest.mark.postgres]


def _changes_after(mark: int) -> set[tuple]:
    return {
        (c.table_name, c.row_id, c.field, c.old_value, c.new_value, c.actor_id, c.source)
        for c in FieldChange.objects.filter(id__gt=mark)
    }


def _mark() -> int:
    last = FieldChange.objects.order_by("-id").values_list("id", flat=True).first()
    return last or 0


def _token_client(user: User) -> APIClient:
    api = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return api


def _text_values(table: str, row_id: int) -> dict[str, str | None]:
    """The tracked columns of one row in the text form the triggers record."""
    columns = TRACKED_FIELDS[table]
    selected = ", ".join(f"to_jsonb(t) ->> '{column}'" for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {selected} FROM {table} t WHERE id = %s",  # noqa: S608 - model tables
            [row_id],
        )
        return dict(zip(columns, cursor.fetchone(), strict=True))


def test_the_tracked_columns_are_those_the_migration_installed(db):
    migration = MigrationLoader(None).get_migration("crm", "0002_field_history_triggers")
    assert import_module(migration.__module__).TRACKED == TRACKED_FIELDS
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT event_object_table FROM information_schema.triggers"
            " WHERE trigger_name LIKE %s",
            ["%_field_history_%"],
        )
        assert {table for (table,) in cursor.fetchall()} == set(TRACKED_FIELDS)


# --- the API ------------------------------------------------------------------------------


def test_a_reassignment_through_the_api_records_the_owner_change_once(director, manager, colleague):
    client = ClientFactory(manager=manager)
    current = client.assignments.get()
    mark = _mark()

    response = _token_client(director).post(
        f"/api/v1/clients/{client.pk}/reassign/", {"manager": colleague.pk}, format="json"
    )

    assert response.status_code == 200, response.content
    new = client.assignments.exclude(pk=current.pk).get()
    current.refresh_from_db()
    api = ChangeSource.API
    assert _changes_after(mark) == {
        ("clients_client", client.pk, "manager_id", str(manager.pk), str(colleague.pk),
         director.pk, api),
        ("clients_clientassignment", current.pk, "ends_on", None, str(current.ends_on),
         director.pk, api),
        ("clients_clientassignment", new.pk, "manager_id", None, str(colleague.pk),
         director.pk, api),
        ("clients_clientassignment", new.pk, "starts_on", None, str(new.starts_on),
         director.pk, api),
    }  # fmt: skip


def test_terminating_through_the_api_records_dates_reason_and_the_status_update(manager):
    client = ClientFactory(manager=manager, status=ClientStatus.ACTIVE)
    contract = ContractFactory(client=client, starts_on=datetime.date(2024, 1, 1))
    mark = _mark()

    response = _token_client(manager).post(
        f"/api/v1/contracts/{contract.pk}/terminate/",
        {"ends_on": "2024-12-31", "reason": TerminationReason.PRICE},
        format="json",
    )

    assert response.status_code == 200, response.content
    rows = _changes_after(mark)
    # The client's status is stored by a QuerySet.update(), which simple-history never sees.
    assert rows == {
        ("clients_contract", contract.pk, "ends_on", None, "2024-12-31", manager.pk, "api"),
        ("clients_contract", contract.pk, "termination_reason", "", "price", manager.pk, "api"),
        ("clients_client", client.pk, "status", "active", "lost", manager.pk, "api"),
    }


def test_a_fee_change_through_the_api_ends_the_old_contract_on_record(manager):
    contract = ContractFactory(client=ClientFactory(manager=manager))
    mark = _mark()

    response = _token_client(manager).post(
        f"/api/v1/contracts/{contract.pk}/change-fee/",
        {"effective_on": "2025-03-01", "monthly_fee": "7000.00"},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert _changes_after(mark) == {
        ("clients_contract", contract.pk, "ends_on", None, "2025-02-28", manager.pk, "api")
    }


def test_a_claim_through_the_api_records_the_return_manager(db, manager):
    returner = UserFactory(role=Role.RETURN_MANAGER)
    case = LostCaseFactory(client=ClientFactory(manager=manager))
    mark = _mark()

    response = _token_client(returner).post(f"/api/v1/lost-cases/{case.pk}/claim/")

    assert response.status_code == 200, response.content
    case.refresh_from_db()
    rows = _changes_after(mark)
    claimed_at = next(row[4] for row in rows if row[2] == "claimed_at")
    assert datetime.datetime.fromisoformat(claimed_at) == case.claimed_at
    assert rows == {
        ("retention_lostcase", case.pk, "status", "open", "claimed", returner.pk, "api"),
        ("retention_lostcase", case.pk, "return_manager_id", None, str(returner.pk),
         returner.pk, "api"),
        ("retention_lostcase", case.pk, "claimed_at", None, claimed_at, returner.pk, "api"),
    }  # fmt: skip


def test_a_session_signed_in_api_call_names_the_actor_too(director, manager, colleague):
    client = ClientFactory(manager=manager)
    api = APIClient()
    assert api.login(username=director.username, password=PASSWORD)
    mark = _mark()

    response = api.post(
        f"/api/v1/clients/{client.pk}/reassign/", {"manager": colleague.pk}, format="json"
    )

    assert response.status_code == 200, response.content
    actors = {(row[5], row[6]) for row in _changes_after(mark)}
    assert actors == {(director.pk, "api")}


# --- a web page -----------------------------------------------------------------------------


def test_a_claim_on_the_queue_page_is_recorded_with_the_web_as_source(client, manager):
    returner = UserFactory(role=Role.RETURN_MANAGER)
    case = LostCaseFactory(client=ClientFactory(manager=manager))
    client.force_login(returner)
    mark = _mark()

    response = client.post(f"/retention/{case.pk}/claim/", HTTP_HX_REQUEST="true")

    assert response.status_code in (200, 302)
    case.refresh_from_db()
    assert case.return_manager == returner
    assert {(row[2], row[5], row[6]) for row in _changes_after(mark)} == {
        ("status", returner.pk, "web"),
        ("return_manager_id", returner.pk, "web"),
        ("claimed_at", returner.pk, "web"),
    }


# --- the admin ------------------------------------------------------------------------------


def _user_change_form(user: User, **changes) -> dict:
    data = {
        "username": user.username,
        "full_name": user.full_name,
        "email": user.email,
        "phone": user.phone,
        "role": user.role,
        "mentor": user.mentor_id or "",
        "capacity": user.capacity,
        "hired_on": "",
        "ramp_until": "",
        "is_active": "on",
    }
    data.update(changes)
    return data


def test_a_role_and_mentor_change_in_the_admin_is_recorded_with_the_admin_as_source(
    client, mentor, manager
):
    root = UserFactory(username="root", role=Role.DIRECTOR, is_staff=True, is_superuser=True)
    other_mentor = UserFactory(role=Role.MENTOR)
    client.force_login(root)
    mark = _mark()

    response = client.post(
        f"/admin/staff/user/{manager.pk}/change/",
        _user_change_form(manager, role=Role.MENTOR, mentor=other_mentor.pk),
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert _changes_after(mark) == {
        ("staff_user", manager.pk, "role", "client_manager", "mentor", root.pk, "admin"),
        ("staff_user", manager.pk, "mentor_id", str(mentor.pk), str(other_mentor.pk),
         root.pk, "admin"),
    }  # fmt: skip


# --- the ORM past save(), and raw SQL -------------------------------------------------------


def test_queryset_update_is_recorded_and_outside_any_entry_point_its_source_is_sql(manager):
    contract = ContractFactory(client=ClientFactory(manager=manager))
    mark = _mark()

    Contract.objects.filter(pk=contract.pk).update(monthly_fee=Decimal("6100.50"))
    # Writing the same value again changes nothing and records nothing.
    Contract.objects.filter(pk=contract.pk).update(monthly_fee=Decimal("6100.50"))

    assert _changes_after(mark) == {
        ("clients_contract", contract.pk, "monthly_fee", "5000.00", "6100.50", None, "sql")
    }


def test_bulk_update_records_one_row_per_changed_field_of_each_row(director, manager):
    first, second = (ContractFactory(client=ClientFactory(manager=manager)) for _ in range(2))
    first.monthly_fee = Decimal("4000.00")
    second.starts_on = datetime.date(2024, 2, 1)
    mark = _mark()

    with acting_as(director, source=ChangeSource.COMMAND):
        Contract.objects.bulk_update([first, second], ["monthly_fee", "starts_on"])

    assert _changes_after(mark) == {
        ("clients_contract", first.pk, "monthly_fee", "5000.00", "4000.00", director.pk,
         "command"),
        ("clients_contract", second.pk, "starts_on", "2024-01-01", "2024-02-01", director.pk,
         "command"),
    }  # fmt: skip


def test_raw_sql_and_a_field_outside_the_list_behave(manager, colleague):
    client = ClientFactory(manager=manager)
    mark = _mark()

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE clients_client SET manager_id = %s, city = 'Канск' WHERE id = %s",
            [colleague.pk, client.pk],
        )

    assert _changes_after(mark) == {
        ("clients_client", client.pk, "manager_id", str(manager.pk), str(colleague.pk), None,
         "sql"),
    }  # fmt: skip


# --- a management command ------------------------------------------------------------------


def test_the_demo_seed_command_records_its_changes_as_the_command(db):
    call_command("seed_demo", "--clients", "10", "--years", "1", stdout=io.StringIO())

    sources = set(FieldChange.objects.values_list("source", flat=True))
    assert sources == {ChangeSource.COMMAND}
    assert FieldChange.objects.filter(table_name="clients_clientassignment").exists()


# --- Celery ----------------------------------------------------------------------------------


def test_the_nightly_task_records_status_changes_with_the_task_as_source(manager, director):
    lost = ClientFactory(manager=manager, status=ClientStatus.ACTIVE)
    ContractFactory(
        client=lost,
        starts_on=datetime.date(2024, 1, 1),
        ends_on=datetime.date(2024, 12, 31),
        termination_reason=TerminationReason.PRICE,
    )
    expired = LostCaseFactory(
        client=ClientFactory(manager=manager, status=ClientStatus.LOST),
        lost_on=datetime.date(2024, 1, 1),
    )
    mark = _mark()

    # Inside an entry point bound to someone else: the task has its own binding, then the
    # caller's comes back.
    with acting_as(director, source=ChangeSource.WEB):
        nightly_chain_task.delay(today="2026-11-23", now="2026-11-23T02:00:00+07:00").get()
        Contract.objects.filter(client=lost).update(monthly_fee=Decimal("1.00"))

    rows = _changes_after(mark)
    lost.refresh_from_db()
    assert lost.status == ClientStatus.CLOSED
    assert ("clients_client", lost.pk, "status", "active", "closed", None, "task") in rows
    expired.refresh_from_db()
    assert expired.status != CaseStatus.OPEN
    assert (
        "retention_lostcase",
        expired.pk,
        "status",
        "open",
        expired.status,
        None,
        "task",
    ) in rows
    assert {row[6] for row in rows if row[0] != "clients_contract"} == {"task"}
    assert [row[5:] for row in rows if row[0] == "clients_contract"] == [(director.pk, "web")]


# --- entry points never leak an actor -------------------------------------------------------


def test_a_changing_request_leaves_no_actor_on_the_connection(client, director, manager):
    client.force_login(director)
    target = ClientFactory(manager=manager)

    client.post("/i18n/setlang/", {"language": "ru"})
    # A refused change ends its request the same way.
    assert client.post(f"/retention/{target.pk}/claim/").status_code in (403, 404)
    Client.objects.filter(pk=target.pk).update(status=ClientStatus.CLOSED)

    change = FieldChange.objects.get(table_name="clients_client", row_id=target.pk)
    assert (change.actor_id, change.source) == (None, "sql")
    assert field_history.current() is None


def test_a_connection_reopened_inside_a_binding_gets_the_binding(transactional_db, director):
    client = ClientFactory(manager=director)

    with acting_as(director, source=ChangeSource.COMMAND):
        connection.close()  # e.g. the database restarted between two statements
        Client.objects.filter(pk=client.pk).update(status=ClientStatus.CLOSED)
    Client.objects.filter(pk=client.pk).update(status=ClientStatus.ACTIVE)

    changes = FieldChange.objects.filter(table_name="clients_client", row_id=client.pk)
    assert list(changes.order_by("id").values_list("new_value", "actor_id", "source")) == [
        ("closed", director.pk, "command"),
        ("active", None, "sql"),
    ]


# --- R25: append-only -----------------------------------------------------------------------


def test_the_field_history_refuses_update_and_delete(manager):
    ClientFactory(manager=manager)
    rows = FieldChange.objects.count()
    assert rows >= 1
    for statement in (
        "UPDATE crm_fieldchange SET new_value = 'rewritten'",
        "DELETE FROM crm_fieldchange",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            connection.cursor().execute(statement)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        FieldChange.objects.update(actor=None)
    assert FieldChange.objects.count() == rows


def test_only_the_director_reads_the_field_history_in_the_admin(client, manager):
    director = UserFactory(username="boss", role=Role.DIRECTOR, is_staff=True)
    root = UserFactory(username="root", role=Role.MENTOR, is_staff=True, is_superuser=True)
    ClientFactory(manager=manager)  # its first assignment is on record
    change = FieldChange.objects.get(table_name="clients_clientassignment")
    url = f"/admin/crm/fieldchange/{change.pk}/change/"

    client.force_login(director)
    assert client.get("/admin/crm/fieldchange/").status_code == 200
    page = client.get(url)
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert client.post(url, {"new_value": "x"}).status_code == 403

    client.force_login(root)
    assert client.get("/admin/crm/fieldchange/").status_code == 403


# --- replaying the trail reconstructs the row -----------------------------------------------

CONTRACT_EDITS = st.one_of(
    st.tuples(st.just("monthly_fee"), st.decimals("0", "99999", places=2)),
    st.tuples(
        st.just("starts_on"), st.dates(datetime.date(2023, 1, 1), datetime.date(2023, 12, 31))
    ),
    st.tuples(
        st.just("ends_on"),
        st.none() | st.dates(datetime.date(2024, 1, 1), datetime.date(2026, 12, 31)),
    ),
)
CLIENT_EDITS = st.one_of(
    st.tuples(st.just("status"), st.sampled_from(ClientStatus.values)),
    st.tuples(st.just("manager_id"), st.sampled_from(["manager", "colleague", None])),
)
WRITERS = st.sampled_from(["save", "update", "bulk_update", "sql"])


def _write(row, field: str, value, writer: str) -> None:
    model = type(row)
    if writer == "save":
        setattr(row, field, value)
        row.save()
    elif writer == "update":
        model.objects.filter(pk=row.pk).update(**{field: value})
    elif writer == "bulk_update":
        setattr(row, field, value)
        model.objects.bulk_update([row], [field.removesuffix("_id")])
    else:
        table, column = model._meta.db_table, model._meta.get_field(field).column
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET {column} = %s WHERE id = %s",  # noqa: S608 - model tables
                [value, row.pk],
            )
    row.refresh_from_db()


def _replay(table: str, row_id: int, start: dict, mark: int) -> dict:
    state = dict(start)
    trail = FieldChange.objects.filter(id__gt=mark, table_name=table, row_id=row_id)
    for change in trail.order_by("id"):
        assert change.old_value == state[change.field]  # each row starts where the last ended
        state[change.field] = change.new_value
    return state


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(edits=st.lists(st.tuples(CONTRACT_EDITS, WRITERS), max_size=12))
def test_replaying_the_trail_of_random_edits_rebuilds_the_contract(manager, edits):
    contract = ContractFactory(client=ClientFactory(manager=manager))
    start, mark = _text_values("clients_contract", contract.pk), _mark()

    for (field, value), writer in edits:
        _write(contract, field, value, writer)

    replayed = _replay("clients_contract", contract.pk, start, mark)
    assert replayed == _text_values("clients_contract", contract.pk)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(edits=st.lists(st.tuples(CLIENT_EDITS, WRITERS), max_size=12))
def test_replaying_the_trail_of_random_edits_rebuilds_the_client(manager, colleague, edits):
    people = {"manager": manager.pk, "colleague": colleague.pk, None: None}
    client = ClientFactory(manager=manager)
    start, mark = _text_values("clients_client", client.pk), _mark()

    for (field, value), writer in edits:
        _write(client, field, people[value] if field == "manager_id" else value, writer)

    replayed = _replay("clients_client", client.pk, start, mark)
    assert replayed == _text_values("clients_client", client.pk)
