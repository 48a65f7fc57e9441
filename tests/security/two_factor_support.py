"""What the two-factor tests share: the app's current code for a device, a confirmed device and a
sign-in with the password alone (their ``two_factor_on`` fixture is in tests/security/conftest.py)."""

from __future__ import annotations

from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import PASSWORD


def totp_code(device: TOTPDevice) -> str:
    """The code the authenticator app shows now for ``device``."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def totp_device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def password_login(user) -> Client:
    """A client signed in with ``user``'s password only (the second step still to come)."""
    client = Client()
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client
