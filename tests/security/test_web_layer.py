"""Web-layer configuration (RELIABILITY R17–R19, R22, R23): the deployment check, security
headers and the content security policy, CSRF on cookie-authenticated writes, constraint races
answered 4xx, and throttles failing open without Redis."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection
from django.test import Client, override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from clients.models import Client as Customer
from tests.conftest import requires_postgres
from tests.factories import ClientFactory, make_inn

TEMPLATES = Path(settings.BASE_DIR) / "templates"

PRODUCTION = {
    "DEBUG": False,
    "SECRET_KEY": "k7Jq2vX9pL4mR8sT1wY6zB3nC5dF0gH2jK4lM6nP8qR0sT2vW4xY6zA8bC0dE2fG4h",
    "ALLOWED_HOSTS": ["crm.example.ru"],
    "SECURE_SSL_REDIRECT": True,
}


# --- R17 ------------------------------------------------------------------------------------


def test_deploy_check_passes_with_production_settings(monkeypatch):
    # Set by the browser tests of this process; never in deployment.
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)
    with override_settings(**PRODUCTION):
        call_command("check", deploy=True, fail_level="WARNING")


def test_deploy_check_catches_a_weak_production_setting(monkeypatch):
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)
    with (
        override_settings(**{**PRODUCTION, "SECURE_HSTS_SECONDS": 0}),
        pytest.raises(SystemCheckError, match=r"security\.W004"),
    ):
        call_command("check", deploy=True, fail_level="WARNING")


# --- R18 ------------------------------------------------------------------------------------

CSP_DIRECTIVES = {
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "object-src 'none'",
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "form-action 'self'",
}


def _assert_security_headers(response):
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    directives = {part.strip() for part in response["Content-Security-Policy"].split(";")}
    assert directives >= CSP_DIRECTIVES


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/my/", 200),
        ("/clients/", 200),
        ("/no-such-page/", 404),
        ("/api/v1/clients/", 200),
        ("/api/v1/docs/", 200),
        ("/api/v1/schema/", 200),
    ],
)
def test_security_headers_on_pages_and_api(manager, url, status):
    client = Client()
    client.force_login(manager)

    response = client.get(url)

    assert response.status_code == status
    _assert_security_headers(response)


def test_security_headers_on_the_login_page(db):
    response = Client().get("/login/")

    assert response.status_code == 200
    _assert_security_headers(response)


def test_security_headers_for_anonymous_api(db):
    response = APIClient().get("/api/v1/clients/")

    assert response.status_code == 401
    _assert_security_headers(response)


def test_api_responses_are_not_stored(manager):
    client = Client()
    client.force_login(manager)

    response = client.get("/api/v1/clients/")

    assert "no-store" in response["Cache-Control"]


def test_templates_have_no_inline_script_or_event_handler():
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
    handler = re.compile(r"\son[a-z]+\s*=", re.I)
    offenders = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        if inline_script.search(text) or handler.search(text) or "javascript:" in text:
            offenders.append(str(path.relative_to(TEMPLATES)))

    assert offenders == []


def test_swagger_ui_start_up_script_is_a_file(manager):
    client = Client()
    client.force_login(manager)

    html = client.get("/api/v1/docs/").content.decode()

    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts
    assert all("src=" in attributes for attributes in scripts)


# --- R19 ------------------------------------------------------------------------------------


def test_page_form_without_the_csrf_token_is_403(manager):
    customer = ClientFactory(manager=manager)
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)

    response = client.post(
        f"/clients/{customer.pk}/calls/", {"kind": "call", "summary": "Позвонили"}
    )

    assert response.status_code == 403
    assert not customer.interactions.exists()


def test_logout_without_the_csrf_token_is_403(manager):
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)

    assert client.post("/logout/").status_code == 403
    assert client.session["_auth_user_id"] == str(manager.pk)


def test_api_write_with_session_auth_needs_the_csrf_token(manager):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(manager)
    body = {
        "name": "МБОУ СОШ № 7",
        "inn": make_inn(7007),
        "kind": "school",
        "acquisition_channel": "inbound",
    }

    refused = client.post("/api/v1/clients/", body, format="json")
    assert refused.status_code == 403
    assert not Customer.objects.filter(inn=body["inn"]).exists()

    client.get("/my/")  # the page sets the CSRF cookie, as a browser gets it
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    accepted = client.post("/api/v1/clients/", body, format="json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201


# --- R22 ------------------------------------------------------------------------------------


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_creates_of_one_inn_are_201_and_4xx(manager):
    token = Token.objects.create(user=manager)
    body = {
        "name": "МКУ Архив",
        "inn": make_inn(5151),
        "kind": "administration",
        "acquisition_channel": "inbound",
    }
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def create():
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
            barrier.wait()
            statuses.append(client.post("/api/v1/clients/", body, format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses)[0] == 201
    assert sorted(statuses)[1] in (400, 409)
    assert Customer.objects.filter(inn=body["inn"]).count() == 1


# --- R23 ------------------------------------------------------------------------------------


def test_api_answers_with_the_throttle_cache_down(manager):
    """Throttles fail open (a convenience, not a security control): with the cache pointing at a
    Redis that is not there, the API still answers."""
    token = Token.objects.create(user=manager)
    dead = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    with override_settings(CACHES=dead):
        response = client.get("/api/v1/clients/")

    assert response.status_code == 200
