"""Two-factor recovery codes (RELIABILITY R13): ten single-use codes, stored hashed, that confirm
a sign-in in place of the authenticator app's code and share its throttling."""

from __future__ import annotations

import re
import threading

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from freezegun import freeze_time

from staff.models import RecoveryCode, Role, SecurityEvent, SecurityEventKind
from staff.recovery_codes import recovery_code_consume, recovery_codes_generate
from tests.conftest import requires_postgres
from tests.factories import UserFactory
from tests.security.two_factor_support import (
    password_login,
    totp_code,
    totp_device,
)

SETUP = "/team/otp/setup/"
VERIFY = "/team/otp/verify/"
RECOVERY = "/team/otp/recovery/"
CODES = "/team/otp/recovery-codes/"
DASHBOARD = "/dashboard/"
CODE_FORMAT = re.compile(r"^[a-hjkmnp-z2-9]{5}-[a-hjkmnp-z2-9]{5}$")


pytestmark = pytest.mark.usefixtures("two_factor_on")


def _verified_client(user, device) -> Client:
    client = password_login(user)
    assert client.post(VERIFY, {"code": totp_code(device)}).status_code == 302
    return client


def test_urls_are_mounted():
    assert (reverse("staff:otp-recovery"), reverse("staff:otp-recovery-codes")) == (
        RECOVERY,
        CODES,
    )


def test_codes_are_stored_hashed(director):
    codes = recovery_codes_generate(director)

    assert len(codes) == len(set(codes)) == 10
    assert all(CODE_FORMAT.match(code) for code in codes)
    rows = list(RecoveryCode.objects.filter(user=director).values())
    assert len(rows) == 10
    stored = " ".join(str(value) for row in rows for value in row.values())
    for code in codes:
        assert code not in stored
        assert code.replace("-", "") not in stored
    assert all(row["code_hash"].startswith("pbkdf2_sha256$") for row in rows)


def test_enrolment_shows_the_codes_once_and_they_work(director):
    client = password_login(director)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=director)

    response = client.post(SETUP, {"code": totp_code(device), "next": DASHBOARD})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert 'data-testid="recovery-codes"' in html
    assert 'data-testid="recovery-codes-left"' in html
    codes = response.context["codes"]
    assert len(codes) == 10
    assert all(code in html for code in codes)
    assert f'href="{DASHBOARD}" data-testid="recovery-codes-done"' in html
    # The codes page of a later visit shows how many are left, never the codes themselves.
    later = client.get(CODES)
    assert later.context["codes_left"] == 10
    assert not any(code in later.content.decode() for code in codes)

    again = password_login(director)
    assert again.post(RECOVERY, {"code": codes[3].upper(), "next": DASHBOARD}).status_code == 302
    assert again.get(DASHBOARD).status_code == 200


def test_the_code_page_offers_a_recovery_code(director):
    totp_device(director)
    client = password_login(director)

    verify = client.get(f"{VERIFY}?next=%2Fdashboard%2F").content.decode()
    assert 'href="/team/otp/recovery/?next=/dashboard/" data-testid="otp-use-recovery"' in verify
    # The recovery page is reachable before the session is confirmed.
    page = client.get(f"{RECOVERY}?next=%2Fdashboard%2F")
    assert page.status_code == 200
    html = page.content.decode()
    assert '<html lang="ru">' in html
    assert "Двухфакторный вход" in html
    assert "Подтвердить" in html
    assert 'data-testid="otp-recovery-form"' in html


def test_a_recovery_code_signs_in_once(director):
    totp_device(director)
    codes = recovery_codes_generate(director)
    first = password_login(director)

    assert first.get(DASHBOARD).status_code == 302
    response = first.post(RECOVERY, {"code": codes[0], "next": DASHBOARD})
    assert response["Location"] == DASHBOARD
    assert first.get(DASHBOARD).status_code == 200

    second = password_login(director)
    with freeze_time():
        replay = second.post(RECOVERY, {"code": codes[0], "next": DASHBOARD})
    assert replay.status_code == 200
    assert "code" in replay.context["form"].errors
    assert second.get(DASHBOARD).status_code == 302
    assert RecoveryCode.objects.filter(user=director, used_at__isnull=False).count() == 1
    (used,) = SecurityEvent.objects.filter(kind=SecurityEventKind.RECOVERY_CODE_USED)
    assert (used.actor_id, used.details["codes_left"]) == (director.pk, 9)
    (failed,) = SecurityEvent.objects.filter(kind=SecurityEventKind.OTP_FAILED)
    assert failed.details == {"stage": "recovery"}


def test_regeneration_invalidates_the_old_codes(director):
    device = totp_device(director)
    old = recovery_codes_generate(director)
    client = _verified_client(director, device)

    page = client.get(CODES)
    assert page.context["codes_left"] == 10
    assert 'data-testid="recovery-codes-regenerate"' in page.content.decode()
    response = client.post(CODES, {"confirmed": "1"})

    new = response.context["codes"]
    assert len(new) == 10
    assert not set(new) & set(old)
    assert 'data-testid="recovery-codes"' in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert RecoveryCode.objects.filter(user=director, revoked_at__isnull=False).count() == 10
    assert SecurityEvent.objects.filter(kind=SecurityEventKind.RECOVERY_CODES_ISSUED).exists()
    with freeze_time() as clock:
        refused = password_login(director)
        assert refused.post(RECOVERY, {"code": old[0]}).status_code == 200
        clock.tick(2)  # past the one-second pause after a wrong code
        accepted = password_login(director)
        assert accepted.post(RECOVERY, {"code": new[0]}).status_code == 302


def test_an_unconfirmed_regeneration_keeps_the_old_codes_and_asks(director):
    device = totp_device(director)
    old = recovery_codes_generate(director)
    client = _verified_client(director, device)
    before = list(RecoveryCode.objects.filter(user=director).values_list("pk", "revoked_at"))

    response = client.post(CODES)

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="confirm-page"' in html
    assert 'data-testid="recovery-codes"' not in html
    assert not any(code in html for code in old)
    assert list(RecoveryCode.objects.filter(user=director).values_list("pk", "revoked_at")) == (
        before
    )
    assert [revoked for _pk, revoked in before] == [None] * 10
    assert not SecurityEvent.objects.filter(kind=SecurityEventKind.RECOVERY_CODES_ISSUED).exists()
    assert f'href="{CODES}" data-testid="confirm-cancel"' in html


def test_regeneration_needs_a_confirmed_session(manager):
    """A manager is not asked for a code at sign-in, yet a password alone mints no codes."""
    totp_device(manager)
    client = password_login(manager)

    response = client.post(CODES, {"confirmed": "1"})

    assert response.status_code == 302
    assert response["Location"] == f"{VERIFY}?next=%2Fteam%2Fotp%2Frecovery-codes%2F"
    assert not RecoveryCode.objects.exists()


def test_without_an_authenticator_the_recovery_page_sends_to_enrolment(director):
    client = password_login(director)

    response = client.get(f"{RECOVERY}?next=%2Fdashboard%2F")

    assert response["Location"] == f"{SETUP}?next=%2Fdashboard%2F"


def test_wrong_recovery_codes_throttle_like_wrong_app_codes(director):
    device = totp_device(director)
    codes = recovery_codes_generate(director)
    client = password_login(director)
    with freeze_time() as clock:
        for failure in range(6):
            client.post(RECOVERY, {"code": "aaaaa-aaaaa"})
            if failure < 5:
                clock.tick(2**failure + 1)  # each wrong code counted: wait out its pause

        refused = client.post(RECOVERY, {"code": codes[0]})

        assert refused.status_code == 200
        device.refresh_from_db()
        assert device.throttling_failure_count == 6
        assert client.get(DASHBOARD).status_code == 302
        # The pause holds for the app's code too, and the refused recovery code is not spent.
        assert client.post(VERIFY, {"code": totp_code(device)}).status_code == 200
        assert not RecoveryCode.objects.filter(used_at__isnull=False).exists()
        clock.tick(2**5 + 1)
        assert client.post(RECOVERY, {"code": codes[0]}).status_code == 302
    assert (
        SecurityEvent.objects.filter(
            kind=SecurityEventKind.OTP_FAILED, details__stage="recovery"
        ).count()
        == 7
    )


def test_api_with_a_session_confirmed_by_a_recovery_code_works(director):
    totp_device(director)
    codes = recovery_codes_generate(director)
    client = password_login(director)
    assert client.get("/api/v1/clients/").status_code == 403

    client.post(RECOVERY, {"code": codes[0]})

    assert client.get("/api/v1/clients/").status_code == 200


def test_the_admin_lists_codes_read_only_without_hashes(director):
    director.is_staff = True
    director.save(update_fields=["is_staff"])
    device = totp_device(director)
    recovery_codes_generate(director)
    client = _verified_client(director, device)

    listing = client.get("/admin/staff/recoverycode/")
    row = RecoveryCode.objects.filter(user=director).first()
    detail = client.get(f"/admin/staff/recoverycode/{row.pk}/change/")

    assert listing.status_code == detail.status_code == 200
    assert "pbkdf2" not in listing.content.decode() + detail.content.decode()
    assert client.get("/admin/staff/recoverycode/add/").status_code == 403
    assert client.post(f"/admin/staff/recoverycode/{row.pk}/delete/").status_code == 403


def test_other_roles_do_not_see_codes_in_the_admin(db):
    keeper = UserFactory(username="keeper", role=Role.MENTOR, is_staff=True, is_superuser=True)
    device = totp_device(keeper)
    client = _verified_client(keeper, device)

    assert client.get("/admin/staff/recoverycode/").status_code == 403


# --- PostgreSQL ----------------------------------------------------------------------------


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_uses_of_one_code_let_one_through(director):
    totp_device(director)
    (code, *_rest) = recovery_codes_generate(director)
    barrier = threading.Barrier(2)
    outcomes = []

    def use(_n):
        try:
            barrier.wait(timeout=30)
            outcomes.append(recovery_code_consume(director, code))
        except Exception as error:  # the test inspects whatever each thread got
            outcomes.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=use, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(outcomes) == 2
    assert sum(isinstance(outcome, TOTPDevice) for outcome in outcomes) == 1
    assert outcomes.count(None) == 1
    assert RecoveryCode.objects.filter(user=director, used_at__isnull=False).count() == 1


@requires_postgres
def test_stored_codes_cannot_be_rewritten_or_deleted(director):
    recovery_codes_generate(director)
    code = RecoveryCode.objects.filter(user=director).first()
    now = timezone.now()

    for change in (
        lambda rows: rows.update(code_hash="pbkdf2_sha256$1$x$y"),
        lambda rows: rows.delete(),
        lambda rows: rows.update(used_at=now, revoked_at=now),
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            change(RecoveryCode.objects.filter(pk=code.pk))

    RecoveryCode.objects.filter(pk=code.pk).update(used_at=now)
    with pytest.raises(DatabaseError), transaction.atomic():
        RecoveryCode.objects.filter(pk=code.pk).update(used_at=None)
