"""Security events (RELIABILITY R26): each one is triggered through the real request handler and
its row exists after the request, including for refused and failed requests; on PostgreSQL the row
survives a rollback of the request's transaction."""

from __future__ import annotations

import logging

import pytest
from django.db import connection, transaction
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from kpi.services import kpi_snapshots_recompute
from staff.models import Role, SecurityEvent, SecurityEventKind
from staff.security_events import security_event_record
from tests.conftest import PASSWORD, requires_postgres
from tests.factories import UserFactory
from tests.security.conftest import login

ADDRESS = "198.51.100.23"


def _events(kind: str, **filters):
    return list(SecurityEvent.objects.filter(kind=kind, **filters))


def test_a_sign_in_and_a_failed_one_are_recorded_with_name_and_address(manager):
    client = Client(REMOTE_ADDR=ADDRESS)
    client.post("/login/", {"username": "manager", "password": "wrong"})
    client.post("/login/", {"username": "manager", "password": PASSWORD})

    (failed,) = _events(SecurityEventKind.LOGIN_FAILED)
    assert (failed.username, failed.actor_id, failed.ip_address) == ("manager", None, ADDRESS)
    assert (failed.method, failed.path) == ("POST", "/login/")
    (signed_in,) = _events(SecurityEventKind.LOGIN_SUCCEEDED)
    assert (signed_in.actor_id, signed_in.ip_address) == (manager.pk, ADDRESS)


def test_a_lockout_is_recorded(manager, settings):
    client = Client(REMOTE_ADDR=ADDRESS)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": "manager", "password": "wrong"})
    response = client.post("/login/", {"username": "manager", "password": PASSWORD})

    assert response.status_code == 429
    assert _events(SecurityEventKind.LOCKED_OUT, username="manager", ip_address=ADDRESS)
    assert not _events(SecurityEventKind.LOGIN_SUCCEEDED)


def test_a_wrong_two_factor_code_is_recorded(manager):
    TOTPDevice.objects.create(user=manager, name="phone", confirmed=True)
    client = Client(REMOTE_ADDR=ADDRESS)
    client.post("/login/", {"username": "manager", "password": PASSWORD})

    response = client.post("/team/otp/verify/", {"code": "000000"})

    assert response.status_code == 200
    (event,) = _events(SecurityEventKind.OTP_FAILED)
    assert (event.actor_id, event.path, event.ip_address) == (
        manager.pk,
        "/team/otp/verify/",
        ADDRESS,
    )


def test_a_wrong_code_on_the_admin_sign_in_is_recorded(db, settings):
    settings.OTP_REQUIRED_FOR_ADMIN = True
    keeper = UserFactory(username="keeper", role=Role.DIRECTOR, is_staff=True)
    TOTPDevice.objects.create(user=keeper, name="phone", confirmed=True)

    response = Client().post(
        "/admin/login/?next=/admin/",
        {"username": "keeper", "password": PASSWORD, "otp_token": "000000"},
    )

    assert response.status_code == 200
    assert _events(SecurityEventKind.OTP_FAILED, actor=keeper, path="/admin/login/")


def test_a_refused_page_is_recorded(world):
    response = login(world, "manager").get("/team/")

    assert response.status_code == 403
    (event,) = _events(SecurityEventKind.PERMISSION_DENIED)
    assert (event.actor_id, event.path, event.details["status"]) == (
        world.user("manager").pk,
        "/team/",
        403,
    )


def test_refused_api_calls_are_recorded_and_the_data_is_unchanged(world):
    target = world.clients["manager"][0]
    response = login(world, "return_manager").post(
        f"/api/v1/clients/{target.pk}/reassign/",
        {"manager": world.user("colleague").pk},
        format="json",
    )
    anonymous = Client().get("/api/v1/clients/")

    assert (response.status_code, anonymous.status_code) == (403, 401)
    target.refresh_from_db()
    assert target.manager == world.user("manager")
    denials = {
        (event.actor_id, event.path, event.details["status"])
        for event in _events(SecurityEventKind.PERMISSION_DENIED)
    }
    assert denials == {
        (world.user("return_manager").pk, f"/api/v1/clients/{target.pk}/reassign/", 403),
        (None, "/api/v1/clients/", 401),
    }


def test_a_dashboard_export_is_recorded(world):
    kpi_snapshots_recompute()
    response = login(world, "mentor").get("/dashboard/export/managers.csv")

    assert response.status_code == 200
    (event,) = _events(SecurityEventKind.EXPORT)
    assert event.actor_id == world.user("mentor").pk
    assert event.details["table"] == "managers"
    assert event.details["format"] == "csv"


def test_an_owner_change_is_recorded_once_committed(world, django_capture_on_commit_callbacks):
    target = world.clients["manager"][0]
    with django_capture_on_commit_callbacks(execute=True):
        response = login(world, "director").post(
            f"/api/v1/clients/{target.pk}/reassign/",
            {"manager": world.user("colleague").pk},
            format="json",
        )

    assert response.status_code == 200
    (event,) = _events(SecurityEventKind.OWNER_CHANGED)
    assert event.actor_id == world.user("director").pk
    assert (
        event.details["client"],
        event.details["previous_manager"],
        event.details["manager"],
    ) == (
        target.pk,
        world.user("manager").pk,
        world.user("colleague").pk,
    )


def test_a_bulk_handover_records_every_owner_change(world, django_capture_on_commit_callbacks):
    leaving = world.user("colleague")
    with django_capture_on_commit_callbacks(execute=True):
        response = login(world, "director").post(
            f"/api/v1/staff/{leaving.pk}/dismiss/", {"handover": "spread"}, format="json"
        )

    assert response.status_code == 200, response.content
    moved = {event.details["client"] for event in _events(SecurityEventKind.OWNER_CHANGED)}
    assert moved == {client.pk for client in world.clients["colleague"]}


def test_a_role_change_in_the_admin_is_recorded(
    director, manager, django_capture_on_commit_callbacks
):
    director.is_staff = director.is_superuser = True
    director.save(update_fields=["is_staff", "is_superuser"])
    client = Client()
    client.force_login(director)
    data = {
        "username": manager.username,
        "full_name": manager.full_name,
        "email": manager.email,
        "phone": "",
        "role": Role.MENTOR,
        "mentor": "",
        "capacity": manager.capacity,
        "is_active": "on",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/staff/user/{manager.pk}/change/", data)

    assert response.status_code == 302, response.content.decode()[:2000]
    (event,) = _events(SecurityEventKind.ROLE_CHANGED)
    assert event.actor_id == director.pk
    assert event.details == {
        "employee": manager.pk,
        "changes": {"role": [Role.CLIENT_MANAGER, Role.MENTOR]},
    }


def test_events_are_readable_by_the_director_only_and_never_editable(director, manager):
    security_event_record(SecurityEventKind.LOGIN_FAILED, username="someone")
    event = SecurityEvent.objects.get()
    keeper = UserFactory(username="keeper", role=Role.MENTOR, is_staff=True)
    for user, expected in ((director, 200), (keeper, 403)):
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        client = Client()
        client.force_login(user)
        assert client.get("/admin/staff/securityevent/").status_code == expected, user
        change = client.post(f"/admin/staff/securityevent/{event.pk}/change/", {"username": "x"})
        assert change.status_code == 403
        assert client.post(f"/admin/staff/securityevent/{event.pk}/delete/").status_code == 403
    event.refresh_from_db()
    assert event.username == "someone"


def test_every_event_is_also_a_log_record(caplog, manager):
    with caplog.at_level(logging.INFO, logger="security"):
        Client(REMOTE_ADDR=ADDRESS).post("/login/", {"username": "manager", "password": "wrong"})
    assert any(
        getattr(record, "security_event", None) == SecurityEventKind.LOGIN_FAILED
        for record in caplog.records
    )


# --- the events outlive a rolled-back transaction (PostgreSQL) ---------------------------------


@requires_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_an_event_survives_the_rollback_of_the_surrounding_transaction(manager):
    def refused_write():
        with transaction.atomic():
            manager.full_name = "Переименован"
            manager.save(update_fields=["full_name"])
            security_event_record(SecurityEventKind.PERMISSION_DENIED, user=manager, status=403)
            raise RuntimeError("the write is refused")

    with pytest.raises(RuntimeError):
        refused_write()

    manager.refresh_from_db()
    assert manager.full_name != "Переименован"
    (event,) = SecurityEvent.objects.all()
    assert event.actor_id == manager.pk


@requires_postgres
@pytest.mark.postgres
def test_a_refused_api_write_keeps_its_event_under_atomic_requests(world, monkeypatch):
    """DRF's exception handler rolls the request's transaction back; the event stays."""
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)
    target = world.clients["manager"][0]
    response = login(world, "return_manager").post(
        f"/api/v1/clients/{target.pk}/reassign/",
        {"manager": world.user("colleague").pk},
        format="json",
    )

    assert response.status_code == 403
    assert _events(SecurityEventKind.PERMISSION_DENIED, actor=world.user("return_manager"))


@requires_postgres
@pytest.mark.postgres
def test_the_event_table_is_append_only(manager):
    security_event_record(SecurityEventKind.LOGIN_FAILED, username="manager")
    from django.db import DatabaseError, connections

    from core.db_routers import security_events_alias

    events = connections[security_events_alias()]
    for statement in (
        "UPDATE staff_securityevent SET username = 'rewritten'",
        "DELETE FROM staff_securityevent",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(using=events.alias),
        ):
            events.cursor().execute(statement)
    assert SecurityEvent.objects.get().username == "manager"
