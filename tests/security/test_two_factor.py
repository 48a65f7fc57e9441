"""Two-factor sign-in (TOTP, django-otp) for directors and the admin (RELIABILITY R09, R13).

The code generator is django-otp's own TOTP over the device key, as an authenticator app
computes it.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from freezegun import freeze_time

from staff.models import Role
from tests.conftest import PASSWORD
from tests.factories import UserFactory
from tests.security.two_factor_support import (
    password_login,
    totp_code,
    totp_device,
)

SETUP = "/team/otp/setup/"
VERIFY = "/team/otp/verify/"
DASHBOARD = "/dashboard/"


pytestmark = pytest.mark.usefixtures("two_factor_on")


def test_urls_are_mounted():
    assert (reverse("staff:otp-setup"), reverse("staff:otp-verify")) == (SETUP, VERIFY)


def test_director_without_a_device_is_sent_to_enrol_and_sees_the_secret(director):
    client = password_login(director)

    response = client.get(DASHBOARD)

    assert response.status_code == 302
    assert response["Location"] == f"{SETUP}?next=%2Fdashboard%2F"
    page = client.get(response["Location"])
    html = page.content.decode()
    device = TOTPDevice.objects.get(user=director)
    assert device.confirmed is False
    assert 'data-testid="otp-uri"' in html
    assert "otpauth://totp/" in html
    secret = page.context["secret"]
    assert len(secret) == 32
    assert secret in html


def test_enrolment_confirms_the_device_with_its_first_code(director):
    client = password_login(director)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=director)

    with freeze_time() as clock:
        wrong = client.post(SETUP, {"code": "000000", "next": DASHBOARD})
        assert wrong.status_code == 200
        assert client.get(DASHBOARD).status_code == 302
        clock.tick(2)  # past the one-second pause after a wrong code

        response = client.post(SETUP, {"code": totp_code(device), "next": DASHBOARD})

    # The confirmation answer shows the first recovery codes once (R13), then goes on to next.
    assert response.status_code == 200
    assert 'data-testid="recovery-codes"' in response.content.decode()
    assert response.context["next"] == DASHBOARD
    device.refresh_from_db()
    assert device.confirmed is True
    assert client.get(DASHBOARD).status_code == 200


def test_every_director_login_asks_for_the_code(director):
    device = totp_device(director)
    client = password_login(director)

    assert client.get(DASHBOARD)["Location"] == f"{VERIFY}?next=%2Fdashboard%2F"
    assert client.get("/clients/").status_code == 302
    with freeze_time() as clock:
        refused = client.post(VERIFY, {"code": "123456", "next": DASHBOARD})
        assert refused.status_code == 200
        assert "code" in refused.context["form"].errors
        clock.tick(2)  # past the one-second pause after a wrong code

        response = client.post(VERIFY, {"code": totp_code(device), "next": DASHBOARD})

    assert response["Location"] == DASHBOARD
    assert client.get(DASHBOARD).status_code == 200


def test_the_next_target_must_be_this_site(director):
    device = totp_device(director)
    client = password_login(director)

    response = client.post(VERIFY, {"code": totp_code(device), "next": "https://evil.example/"})

    assert response["Location"] == "/"


def test_a_code_is_accepted_once(director):
    device = totp_device(director)
    code = totp_code(device)
    first = password_login(director)
    assert first.post(VERIFY, {"code": code})["Location"] == "/"

    second = password_login(director)
    replay = second.post(VERIFY, {"code": code})

    assert replay.status_code == 200
    assert second.get(DASHBOARD).status_code == 302


def test_wrong_codes_throttle_further_tries(director):
    device = totp_device(director)
    client = password_login(director)
    with freeze_time() as clock:
        for failure in range(6):
            client.post(VERIFY, {"code": "000000"})
            if failure < 5:
                clock.tick(2**failure + 1)  # each wrong code counted: wait out its pause

        response = client.post(VERIFY, {"code": totp_code(device)})

        assert response.status_code == 200
        device.refresh_from_db()
        assert device.throttling_failure_count == 6
        assert client.get(DASHBOARD).status_code == 302
        clock.tick(2**5 + 1)
        assert client.post(VERIFY, {"code": totp_code(device)}).status_code == 302


def test_api_with_a_session_that_skipped_the_code_is_403(director):
    totp_device(director)
    client = password_login(director)

    response = client.get("/api/v1/clients/")

    assert response.status_code == 403


def test_api_after_the_code_works(director):
    device = totp_device(director)
    client = password_login(director)
    client.post(VERIFY, {"code": totp_code(device)})

    assert client.get("/api/v1/clients/").status_code == 200


def test_token_for_a_director_needs_the_code(director):
    device = totp_device(director)
    client = Client()
    url = "/api/v1/auth/token/"
    body = {"username": "director", "password": PASSWORD}

    without = client.post(url, body, content_type="application/json")
    assert without.status_code == 400
    assert list(without.json()) == ["otp_token"]

    response = client.post(
        url, {**body, "otp_token": totp_code(device)}, content_type="application/json"
    )
    assert response.status_code == 200
    assert len(response.json()["token"]) == 40


def test_other_roles_are_not_asked_for_a_code(manager):
    client = password_login(manager)

    assert client.get("/my/").status_code == 200


def test_switched_off_directors_sign_in_with_the_password_only(director, settings):
    settings.OTP_REQUIRED_FOR_DIRECTORS = False
    client = password_login(director)

    assert client.get(DASHBOARD).status_code == 200


# --- admin ----------------------------------------------------------------------------------

ADMIN_URLS = ["/admin/", "/admin/staff/user/", "/admin/clients/client/", "/admin/password_change/"]


@pytest.fixture
def admin_user(db):
    return UserFactory(
        username="keeper",
        role=Role.MENTOR,
        is_staff=True,
        is_superuser=True,
        full_name="Админ",
    )


@pytest.mark.parametrize("url", ADMIN_URLS)
def test_admin_without_the_code_is_refused(admin_user, url):
    totp_device(admin_user)
    client = Client()
    client.force_login(admin_user)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(VERIFY)


@pytest.mark.parametrize("url", ADMIN_URLS)
def test_admin_with_the_code_is_open(admin_user, url):
    device = totp_device(admin_user)
    client = password_login(admin_user)
    client.post(VERIFY, {"code": totp_code(device)})

    assert client.get(url).status_code == 200


def test_admin_login_form_asks_for_the_code(admin_user):
    device = totp_device(admin_user)
    client = Client()
    body = {"username": "keeper", "password": PASSWORD}

    refused = client.post("/admin/login/?next=/admin/", body)
    assert refused.status_code == 200
    assert "_auth_user_id" not in client.session

    response = client.post(
        "/admin/login/?next=/admin/",
        {**body, "otp_device": device.persistent_id, "otp_token": totp_code(device)},
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_admin_site_checks_verification_itself(admin_user, settings):
    """The admin refuses an unverified staff session even past the redirecting middleware."""
    from django.contrib import admin
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = admin_user
    admin_user.is_verified = lambda: False

    assert admin.site.has_permission(request) is False
    settings.OTP_REQUIRED_FOR_ADMIN = False
    assert admin.site.has_permission(request) is True
