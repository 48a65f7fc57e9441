"""Session hygiene and password policy (RELIABILITY R14, R15): cookie flags, a new session key
at login, idle and absolute limits, logout, deactivated users and changed passwords."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.conftest import PASSWORD

PAGE = "/my/"


def _login(client: Client, username: str = "manager") -> None:
    response = client.post("/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302


def test_session_cookie_flags(manager):
    client = Client()
    response = client.post("/login/", {"username": "manager", "password": PASSWORD})

    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["secure"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["max-age"] == 12 * 60 * 60


def test_login_issues_a_new_session_key(manager):
    client = Client()
    session = client.session
    session["seen"] = True
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    before = session.session_key

    _login(client)

    assert client.session.session_key != before
    assert not SessionStore().exists(before)


def test_idle_session_ends_after_thirty_minutes(manager):
    assert settings.SESSION_IDLE_TIMEOUT == 30 * 60
    start = timezone.now()
    with freeze_time(start) as clock:
        client = Client()
        _login(client)
        clock.move_to(start + datetime.timedelta(minutes=29))
        assert client.get(PAGE).status_code == 200
        clock.move_to(start + datetime.timedelta(minutes=29 + 31))

        response = client.get(PAGE)

    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={PAGE}"
    assert "_auth_user_id" not in client.session


def test_active_session_ends_twelve_hours_after_login(manager):
    start = timezone.now()
    with freeze_time(start) as clock:
        client = Client()
        _login(client)
        for step in range(1, 36):  # a click every 20 minutes, for 11 h 40 min
            clock.move_to(start + datetime.timedelta(minutes=20 * step))
            assert client.get(PAGE).status_code == 200, step
        clock.move_to(start + datetime.timedelta(hours=12, minutes=1))

        response = client.get(PAGE)

    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={PAGE}"


def test_idle_api_session_is_unauthenticated(manager):
    start = timezone.now()
    with freeze_time(start) as clock:
        client = APIClient()
        _login(client)
        assert client.get("/api/v1/clients/").status_code == 200
        clock.move_to(start + datetime.timedelta(minutes=31))

        response = client.get("/api/v1/clients/")

    assert response.status_code == 401


def test_logout_destroys_the_server_side_session(manager):
    client = Client()
    _login(client)
    key = client.session.session_key

    assert client.get("/logout/").status_code == 405
    assert SessionStore().exists(key)
    assert client.post("/logout/").status_code == 302

    assert not SessionStore().exists(key)


def test_deactivated_user_is_logged_out_on_the_next_request(manager):
    client = Client()
    _login(client)
    token = Token.objects.create(user=manager)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get("/api/v1/clients/").status_code == 200

    manager.is_active = False
    manager.save(update_fields=["is_active"])

    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={PAGE}"
    assert api.get("/api/v1/clients/").status_code == 401


def test_a_password_change_ends_the_other_sessions(manager):
    other = Client()
    _login(other)

    manager.set_password("a-brand-new-passphrase")
    manager.save(update_fields=["password"])

    response = other.get(PAGE)
    assert response.status_code == 302
    assert "_auth_user_id" not in other.session


# --- passwords (R15) ------------------------------------------------------------------------


def test_password_validators_are_on():
    names = [v["NAME"].rsplit(".", 1)[1] for v in settings.AUTH_PASSWORD_VALIDATORS]
    assert names == [
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    ]


@pytest.mark.parametrize("password", ["short7!", "password123", "12345678901234"])
def test_weak_passwords_are_refused(password):
    with pytest.raises(ValidationError):
        validate_password(password)


@pytest.mark.parametrize(
    "password",
    ["зелёная лампа", "correct horse battery", "x" * 3 + "-long-" + "passphrase" * 7],
)
def test_long_passwords_without_composition_rules_are_accepted(password):
    assert validate_password(password) is None
