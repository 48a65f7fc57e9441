"""Two-factor pages (RELIABILITY R09, R13): enrolment of an authenticator app and the code asked
after the password. Open to every signed-in user; ``crm.middleware.OtpRequiredMiddleware`` sends
directors (and staff entering the admin) here until their session is confirmed."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from core.confirm import confirmation_page
from core.http import safe_next_url
from staff.forms import OtpCodeForm, RecoveryCodeForm
from staff.recovery_codes import recovery_codes_issue, recovery_codes_left, recovery_session_verify
from staff.two_factor import (
    totp_confirmed_device,
    totp_device_for_enrolment,
    totp_enrol_confirm,
    totp_secret,
    totp_session_verify,
)


def _next_url(request: HttpRequest) -> str:
    return safe_next_url(request, default="/")


def _redirect_keeping_next(url_name: str, request: HttpRequest) -> HttpResponse:
    return redirect(f"{reverse(url_name)}?{urlencode({'next': _next_url(request)})}")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def otp_setup(request: HttpRequest) -> HttpResponse:
    """Shows the secret of a new authenticator (as an otpauth:// link and as text) and confirms it
    with its first code; the confirmation answer shows the first set of recovery codes once."""
    if totp_confirmed_device(request.user) is not None:
        return _redirect_keeping_next("staff:otp-verify", request)
    device = totp_device_for_enrolment(request.user)
    form = OtpCodeForm(request.POST or None)
    if form.is_valid():
        if totp_enrol_confirm(request, device, form.cleaned_data["code"]):
            return _show_recovery_codes(request, recovery_codes_issue(request), enrolled=True)
        form.add_error("code", _("The code is wrong or has expired. Try the current one."))
    return render(
        request,
        "staff/otp_setup.html",
        {
            "form": form,
            "config_url": device.config_url,
            "secret": totp_secret(device),
            "next": _next_url(request),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def otp_verify(request: HttpRequest) -> HttpResponse:
    """Asks for the current code of the user's authenticator after the password."""
    if totp_confirmed_device(request.user) is None:
        return _redirect_keeping_next("staff:otp-setup", request)
    form = OtpCodeForm(request.POST or None)
    if form.is_valid():
        if totp_session_verify(request, form.cleaned_data["code"]):
            return redirect(_next_url(request))
        form.add_error("code", _("The code is wrong or has expired. Try the current one."))
    return render(request, "staff/otp_verify.html", {"form": form, "next": _next_url(request)})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def otp_recovery(request: HttpRequest) -> HttpResponse:
    """Confirms the sign-in with a recovery code instead of the app's code (a lost phone)."""
    if totp_confirmed_device(request.user) is None:
        return _redirect_keeping_next("staff:otp-setup", request)
    form = RecoveryCodeForm(request.POST or None)
    if form.is_valid():
        if recovery_session_verify(request, form.cleaned_data["code"]):
            return redirect(_next_url(request))
        form.add_error(
            "code", _("This recovery code is wrong or already used. Wait a little and try again.")
        )
    return render(request, "staff/otp_recovery.html", {"form": form, "next": _next_url(request)})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def otp_recovery_codes(request: HttpRequest) -> HttpResponse:
    """How many recovery codes are left, and a new set on request. Only for a session confirmed
    with a second factor: a stolen password alone must not be enough to mint codes."""
    if totp_confirmed_device(request.user) is None:
        return _redirect_keeping_next("staff:otp-setup", request)
    if not request.user.is_verified():
        return redirect(
            f"{reverse('staff:otp-verify')}?{urlencode({'next': request.get_full_path()})}"
        )
    if request.method == "POST":
        page = confirmation_page(
            request,
            question=_("Issue new recovery codes? Every unused code stops working at once."),
            cancel_url=reverse("staff:otp-recovery-codes"),
            action_label=_("Issue new codes"),
        )
        if page is not None:
            return page
        return _show_recovery_codes(request, recovery_codes_issue(request), enrolled=False)
    return render(
        request,
        "staff/otp_recovery_codes.html",
        {"codes": None, "codes_left": recovery_codes_left(request.user), "next": ""},
    )


def _show_recovery_codes(request: HttpRequest, codes: list[str], *, enrolled: bool):
    """The one page that ever shows these codes; the answer is not kept by the browser."""
    return render(
        request,
        "staff/otp_recovery_codes.html",
        {
            "codes": codes,
            "codes_left": len(codes),
            "enrolled": enrolled,
            "next": _next_url(request),
        },
    )
