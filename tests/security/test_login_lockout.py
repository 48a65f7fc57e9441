"""Sign-in attempt limit (django-axes) on every sign-in path (RELIABILITY R10–R12).

Each test drives the real request handler through Django's test client, so the middleware and any
request transaction apply. URL modules are imported before a clock is frozen (the first
``reverse``): importing them under freezegun has crashed the process before.
"""

from __future__ import annotations

import datetime
import random
from concurrent.futures import ThreadPoolExecutor

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time

from staff.models import Role
from tests.conftest import PASSWORD, requires_postgres
from tests.factories import UserFactory

LIMIT = 5
ADDRESS = "198.51.100.7"
OTHER_ADDRESS = "198.51.100.8"


@pytest.fixture
def staff_user(db):
    return UserFactory(
        username="keeper", role=Role.DIRECTOR, is_staff=True, is_superuser=True, full_name="Админ"
    )


def _session_login(client, username, password):
    response = client.post("/login/", {"username": username, "password": password})
    return response, response.status_code == 302 and "_auth_user_id" in client.session


def _admin_login(client, username, password):
    response = client.post(
        "/admin/login/?next=/admin/", {"username": username, "password": password}
    )
    return response, response.status_code == 302 and "_auth_user_id" in client.session


def _token_login(client, username, password):
    response = client.post(
        "/api/v1/auth/token/",
        {"username": username, "password": password},
        content_type="application/json",
    )
    return response, response.status_code == 200 and "token" in response.json()


PATHS = {"session": _session_login, "admin": _admin_login, "token": _token_login}


def _user_for(path: str, manager, staff_user):
    return staff_user if path == "admin" else manager


def test_settings_bound_the_lockout():
    assert settings.AXES_FAILURE_LIMIT == LIMIT
    assert datetime.timedelta(minutes=15) == settings.AXES_COOLOFF_TIME
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AXES_RESET_ON_SUCCESS is True
    assert settings.AXES_HANDLER == "axes.handlers.database.AxesDatabaseHandler"


@pytest.mark.parametrize("path", PATHS)
def test_five_failures_lock_out_the_right_password(path, manager, staff_user):
    user = _user_for(path, manager, staff_user)
    attempt = PATHS[path]
    client = Client(REMOTE_ADDR=ADDRESS)
    for _ in range(LIMIT):
        _response, ok = attempt(client, user.username, "wrong-password")
        assert not ok

    response, ok = attempt(client, user.username, PASSWORD)

    assert not ok
    assert response.status_code == 429
    assert response["Retry-After"] == "900"
    assert "_auth_user_id" not in client.session
    assert AccessAttempt.objects.get(username=user.username).failures_since_start == LIMIT + 1


def test_lockout_page_is_russian(manager):
    client = Client(REMOTE_ADDR=ADDRESS)
    for _ in range(LIMIT):
        _session_login(client, "manager", "wrong-password")

    response, _ok = _session_login(client, "manager", PASSWORD)

    html = response.content.decode()
    assert 'data-testid="lockout"' in html
    assert "Слишком много неудачных попыток входа. Подождите 15 мин." in html


def test_token_lockout_is_json(manager):
    client = Client(REMOTE_ADDR=ADDRESS)
    for _ in range(LIMIT):
        _token_login(client, "manager", "wrong-password")

    response, _ok = _token_login(client, "manager", PASSWORD)

    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"].startswith("Слишком много неудачных попыток входа")


@pytest.mark.parametrize("path", PATHS)
def test_the_lock_lifts_after_the_cool_off(path, manager, staff_user):
    user = _user_for(path, manager, staff_user)
    attempt = PATHS[path]
    start = timezone.now()
    with freeze_time(start) as clock:
        client = Client(REMOTE_ADDR=ADDRESS)
        for _ in range(LIMIT):
            attempt(client, user.username, "wrong-password")
        assert not attempt(client, user.username, PASSWORD)[1]

        clock.move_to(start + datetime.timedelta(minutes=14))
        assert not attempt(Client(REMOTE_ADDR=ADDRESS), user.username, PASSWORD)[1]

        clock.move_to(start + datetime.timedelta(minutes=31))
        assert attempt(Client(REMOTE_ADDR=ADDRESS), user.username, PASSWORD)[1]


@pytest.mark.parametrize("path", PATHS)
def test_other_users_and_other_addresses_are_unaffected(path, manager, colleague, staff_user):
    user = _user_for(path, manager, staff_user)
    attempt = PATHS[path]
    for _ in range(LIMIT):
        attempt(Client(REMOTE_ADDR=ADDRESS), user.username, "wrong-password")

    assert attempt(Client(REMOTE_ADDR=OTHER_ADDRESS), user.username, PASSWORD)[1]
    if path != "admin":
        assert attempt(Client(REMOTE_ADDR=ADDRESS), colleague.username, PASSWORD)[1]


@pytest.mark.parametrize("path", PATHS)
def test_failures_count_across_paths(path, manager, staff_user):
    user = _user_for(path, manager, staff_user)
    client = Client(REMOTE_ADDR=ADDRESS)
    for name in ("session", "token", "admin", "session", "token"):
        PATHS[name](client, user.username, "wrong-password")

    assert not PATHS[path](client, user.username, PASSWORD)[1]


def test_a_success_clears_the_count(manager):
    client = Client(REMOTE_ADDR=ADDRESS)
    for _ in range(LIMIT - 1):
        _token_login(client, "manager", "wrong-password")
    assert _token_login(client, "manager", PASSWORD)[1]

    for _ in range(LIMIT - 1):
        _token_login(client, "manager", "wrong-password")

    assert _token_login(client, "manager", PASSWORD)[1]


@pytest.mark.parametrize("path", PATHS)
def test_attempt_records_survive_a_request_transaction(path, manager, staff_user, monkeypatch):
    """R11: with ATOMIC_REQUESTS on, a refused sign-in must not roll its own record back."""
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)
    user = _user_for(path, manager, staff_user)
    client = Client(REMOTE_ADDR=ADDRESS)
    for _ in range(LIMIT):
        PATHS[path](client, user.username, "wrong-password")

    assert AccessAttempt.objects.get(username=user.username).failures_since_start == LIMIT
    assert not PATHS[path](client, user.username, PASSWORD)[1]


def test_a_forged_forwarded_for_does_not_escape_the_lock(manager):
    """R12: with no trusted proxy, X-Forwarded-For is ignored: random values on each try still
    lock the (username, real address) pair, and another real address stays free."""
    rng = random.Random(7)
    for _ in range(LIMIT):
        forged = ".".join(str(rng.randint(1, 254)) for _ in range(4))
        _session_login(
            Client(REMOTE_ADDR=ADDRESS, HTTP_X_FORWARDED_FOR=forged), "manager", "wrong-password"
        )

    locked = Client(REMOTE_ADDR=ADDRESS, HTTP_X_FORWARDED_FOR="203.0.113.99")
    assert not _session_login(locked, "manager", PASSWORD)[1]
    assert _session_login(Client(REMOTE_ADDR=OTHER_ADDRESS), "manager", PASSWORD)[1]


def test_behind_a_trusted_proxy_the_proxy_seen_address_counts(manager, settings):
    """R12: behind one trusted proxy the address it appended is the client's; what the client put
    in front of it is ignored, and the proxy's own address is shared by nobody's lock."""
    settings.TRUSTED_PROXIES = 1
    proxy = "10.0.0.2"
    for attempt in range(LIMIT):
        client = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"6.6.6.{attempt}, {ADDRESS}")
        _session_login(client, "manager", "wrong-password")

    locked = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=ADDRESS)
    assert not _session_login(locked, "manager", PASSWORD)[1]
    other = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=OTHER_ADDRESS)
    assert _session_login(other, "manager", PASSWORD)[1]


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_failures_do_not_slip_past_the_limit():
    """R11: 30 wrong passwords at once let at most a few more than the limit be checked, and
    the pair is locked afterwards."""
    UserFactory(username="target", role=Role.CLIENT_MANAGER)

    def attempt(_n):
        try:
            return _session_login(Client(REMOTE_ADDR=ADDRESS), "target", "wrong-password")[
                0
            ].status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(attempt, range(30)))

    checked = statuses.count(200)
    assert statuses.count(200) + statuses.count(429) == 30
    # Sequentially the fifth failure already answers with the lockout (LIMIT - 1 pages); at once,
    # failures recorded by other threads can lock a request earlier still, never much later.
    assert 1 <= checked <= LIMIT + 3
    assert not _session_login(Client(REMOTE_ADDR=ADDRESS), "target", PASSWORD)[1]


# --- R16: no other way in -------------------------------------------------------------------


def test_basic_auth_with_valid_credentials_is_401(manager):
    import base64

    credentials = base64.b64encode(f"manager:{PASSWORD}".encode()).decode()

    response = Client().get("/api/v1/clients/", HTTP_AUTHORIZATION=f"Basic {credentials}")

    assert response.status_code == 401


def test_the_only_sign_in_endpoints_are_the_documented_ones():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    open_operations = sorted(
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if not operation.get("security")
    )
    schemes = {
        name
        for operations in schema["paths"].values()
        for operation in operations.values()
        for requirement in operation.get("security", [])
        for name in requirement
    }

    assert open_operations == ["POST /api/v1/auth/token/"]
    assert schemes == {"tokenAuth", "cookieAuth"}
    assert set(schema["components"]["securitySchemes"]) == {"tokenAuth", "cookieAuth"}
    assert settings.AUTHENTICATION_BACKENDS == [
        "staff.two_factor.LoginAttemptsBackend",
        "django.contrib.auth.backends.ModelBackend",
    ]
    assert settings.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] == [
        # DRF's token check, which also names the actor of the field history (R24).
        "core.api.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ]
