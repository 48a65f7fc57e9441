"""Sign-in security helpers: the login-attempt backend, two-factor (TOTP)
enrolment and verification, and the admin site that asks for a code (RELIABILITY R09–R13)."""

from __future__ import annotations

import base64

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib.admin import AdminSite
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from staff.models import Role


class LoginAttemptsBackend(AxesStandaloneBackend):
    """django-axes' attempt counter. Every sign-in form of the site passes the request; a call
    without one (the test client's ``login``) is not an HTTP sign-in and is left to the next
    backend."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


# --- two-factor ---------------------------------------------------------------------------


def otp_required(user, path: str = "") -> bool:
    """Whether ``user`` must confirm this session with a TOTP code before using ``path``."""
    if not user.is_authenticated:
        return False
    if settings.OTP_REQUIRED_FOR_DIRECTORS and user.role == Role.DIRECTOR:
        return True
    return bool(settings.OTP_REQUIRED_FOR_ADMIN and user.is_staff and path.startswith("/admin/"))


def totp_confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def totp_device_for_enrolment(user) -> TOTPDevice:
    """The user's unconfirmed authenticator, created on first visit of the enrolment page."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    return device


def totp_secret(device: TOTPDevice) -> str:
    """The device key as the base32 text an authenticator app accepts typed in."""
    return base64.b32encode(device.bin_key).decode("ascii").rstrip("=")


def totp_enrol_confirm(request, device: TOTPDevice, code: str) -> bool:
    """Confirm ``device`` with its first code; the session is then verified."""
    if not device.verify_token(code.strip()):
        _otp_failed(request, request.user, stage="enrolment")
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    otp_login(request, device)
    return True


def totp_user_verify(user, code: str) -> TOTPDevice | None:
    """The confirmed device of ``user`` that accepts ``code``, or None. A code is accepted once;
    failures slow further tries down (django-otp's throttling)."""
    code = code.strip()
    if not code:
        return None
    for device in devices_for_user(user, confirmed=True):
        if device.verify_token(code):
            return device
    return None


def totp_session_verify(request, code: str) -> bool:
    device = totp_user_verify(request.user, code)
    if device is None:
        _otp_failed(request, request.user, stage="sign-in")
        return False
    otp_login(request, device)
    return True


def _otp_failed(request, user, **details) -> None:
    from staff.models import SecurityEventKind
    from staff.security_events import security_event_record

    security_event_record(SecurityEventKind.OTP_FAILED, request=request, user=user, **details)


# --- admin site ---------------------------------------------------------------------------


class OtpAdminSite(AdminSite):
    """The admin for staff users whose session is confirmed with a TOTP code, as django-otp's
    ``OTPAdminSite``, switched by ``OTP_REQUIRED_FOR_ADMIN``."""

    def has_permission(self, request) -> bool:
        if not super().has_permission(request):
            return False
        return not settings.OTP_REQUIRED_FOR_ADMIN or request.user.is_verified()

    @property
    def login_form(self):
        if not settings.OTP_REQUIRED_FOR_ADMIN:
            return None
        return admin_otp_login_form()

    @property
    def login_template(self):
        return "otp/admin111/login.html" if settings.OTP_REQUIRED_FOR_ADMIN else None


def admin_otp_login_form():
    """django-otp's admin sign-in form, recording a wrong code as a security event (R26)."""
    from django import forms
    from django_otp.admin import OTPAdminAuthenticationForm

    class AdminOtpLoginForm(OTPAdminAuthenticationForm):
        def clean_otp(self, user):
            try:
                return super().clean_otp(user)
            except forms.ValidationError as error:
                _otp_failed(self.request, user, stage="admin", reason=error.code or "")
                raise

    return AdminOtpLoginForm


# --- lockout ------------------------------------------------------------------------------


def lockout_response(request, original_response=None, credentials=None):
    """What a locked-out sign-in gets (``AXES_LOCKOUT_CALLABLE``): 429 with Retry-After, as JSON
    on the API and as the lockout page elsewhere."""
    from django.http import JsonResponse
    from django.shortcuts import render
    from django.utils.translation import gettext

    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    message = gettext("Too many failed attempts. Wait %(minutes)d minutes and try again.") % {
        "minutes": seconds // 60
    }
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message}, status=settings.AXES_HTTP_RESPONSE_CODE)
    else:
        response = render(
            request,
            "registration/lockout.html",
            {"message": message},
            status=settings.AXES_HTTP_RESPONSE_CODE,
        )
    response["Retry-After"] = str(seconds)
    return response
