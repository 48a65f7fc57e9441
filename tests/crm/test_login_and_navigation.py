"""Login, logout, the role-aware start page and menu, and the language switch (SPEC §6, §10)."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.urls import NoReverseMatch, reverse

from staff.models import Role
from tests.conftest import PASSWORD

ROLE_FIXTURES = ["director", "mentor", "manager", "return_manager", "sales_manager"]

# Where each role lands after signing in (SPEC §6), when that page is mounted.
START_PAGE = {
    Role.DIRECTOR: "kpi:dashboard",
    Role.MENTOR: "clients:my",
    Role.CLIENT_MANAGER: "clients:my",
    Role.RETURN_MANAGER: "clients:my",
    Role.SALES_MANAGER: "clients:my",
}

# The menu of each role, in menu order.
MENU = {
    Role.DIRECTOR: [
        "kpi:dashboard",
        "clients:list",
        "referrals:board",
        "retention:queue",
        "team:team",
        "planner:page",
    ],
    Role.MENTOR: [
        "kpi:dashboard",
        "clients:my",
        "clients:list",
        "referrals:board",
        "team:team",
        "planner:page",
    ],
    Role.CLIENT_MANAGER: ["clients:my", "clients:list", "referrals:board"],
    Role.RETURN_MANAGER: ["clients:my", "clients:list", "retention:queue"],
    Role.SALES_MANAGER: ["clients:my", "clients:list", "referrals:board"],
}


def _mounted(url_name: str) -> bool:
    try:
        reverse(url_name)
    except NoReverseMatch:
        return False
    return True


def _nav_keys(html: str) -> list[str]:
    nav = re.search(r'<nav class="mainnav".*?</nav>', html, re.S)
    return re.findall(r'data-testid="nav-([\w-]+)"', nav.group(0)) if nav else []


@pytest.mark.parametrize("role_fixture", ROLE_FIXTURES)
def test_login_sends_each_role_to_its_start_page(client, request, role_fixture):
    user = request.getfixturevalue(role_fixture)

    response = client.post("/login/", {"username": user.username, "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(user.pk)
    start = START_PAGE[user.role]
    expected = reverse(start) if _mounted(start) else "/clients/"
    home = client.get("/")
    assert home.status_code == 302
    assert home["Location"] == expected


def test_login_page_is_russian_by_default_and_carries_the_form_hook(client, db):
    response = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")

    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="ru">' in html
    assert 'data-testid="login-form"' in html
    assert 'action="/login/"' in html
    assert "Вход" in html
    assert 'data-testid="main-nav"' not in html


def test_wrong_password_shows_an_error_and_does_not_log_in(client, manager):
    response = client.post("/login/", {"username": "manager", "password": "wrong-password"})

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="login-error"' in html
    assert "_auth_user_id" not in client.session
    assert client.get("/clients/")["Location"] == "/login/?next=/clients/"


def test_deactivated_user_cannot_log_in(client, manager):
    manager.is_active = False
    manager.save(update_fields=["is_active"])

    response = client.post("/login/", {"username": "manager", "password": PASSWORD})

    assert response.status_code == 200
    assert 'data-testid="login-error"' in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_repeated_failures_lock_the_login_even_with_the_right_password(client, manager):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": "manager", "password": "wrong-password"})

    response = client.post("/login/", {"username": "manager", "password": PASSWORD})

    assert response.status_code == 429
    assert "Слишком много неудачных попыток" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_success_resets_the_failure_count(client, manager):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post("/login/", {"username": "manager", "password": "wrong-password"})
    client.post("/login/", {"username": "manager", "password": PASSWORD})
    client.post("/logout/")

    client.post("/login/", {"username": "manager", "password": "wrong-password"})
    response = client.post("/login/", {"username": "manager", "password": PASSWORD})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(manager.pk)


def test_logout_is_post_only(client, manager):
    client.force_login(manager)

    refused = client.get("/logout/")
    assert refused.status_code == 405
    assert client.session["_auth_user_id"] == str(manager.pk)

    response = client.post("/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert "_auth_user_id" not in client.session


def test_logout_is_a_form_in_the_top_bar(client, manager):
    client.force_login(manager)

    html = client.get("/clients/").content.decode()

    assert re.search(r'<form method="post" action="/logout/" data-testid="logout-form">', html)


@pytest.mark.parametrize("role_fixture", ROLE_FIXTURES)
def test_menu_shows_exactly_the_role_items(client, request, role_fixture):
    user = request.getfixturevalue(role_fixture)
    client.force_login(user)

    html = client.get("/clients/").content.decode()

    expected = [name.replace(":", "-") for name in MENU[user.role] if _mounted(name)]
    assert _nav_keys(html) == expected
    assert 'data-testid="nav-clients-list" aria-current="page"' in html


def test_top_bar_names_the_user_and_the_role(client, manager):
    client.force_login(manager)

    html = client.get("/clients/").content.decode()

    assert '<span class="userbox-name">Клиент-менеджер Анна</span>' in html
    assert '<span class="userbox-role">Клиент-менеджер</span>' in html


def test_body_sends_the_csrf_token_with_htmx_requests(client, manager):
    client.force_login(manager)

    html = client.get("/clients/").content.decode()

    assert re.search(r"<body hx-headers='\{\"X-CSRFToken\": \"[\w]+\"\}'", html)
    assert '<script src="/static/vendor/htmx/htmx.min.js" defer></script>' in html
    assert "https://" not in html


def test_language_switch_turns_the_page_english_and_back(client, manager):
    client.force_login(manager)
    assert '<html lang="ru">' in client.get("/clients/").content.decode()

    response = client.post("/i18n/setlang/", {"language": "en", "next": "/clients/"})

    assert response.status_code == 302
    assert response["Location"] == "/clients/"
    html = client.get("/clients/").content.decode()
    assert '<html lang="en">' in html
    assert ">Log out</button>" in html
    assert '<span class="userbox-role">Client manager</span>' in html

    client.post("/i18n/setlang/", {"language": "ru", "next": "/clients/"})
    assert ">Выйти</button>" in client.get("/clients/").content.decode()


def test_the_language_switch_is_offered_on_the_login_page(client, db):
    html = client.get("/login/").content.decode()

    assert 'action="/i18n/setlang/"' in html
    assert 'data-testid="language-en"' in html
    assert 'data-testid="language-ru"' in html
