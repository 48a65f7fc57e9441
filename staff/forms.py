"""Project-level forms: sign-in and the two-factor code (SPEC §10).

Failed sign-ins are counted by django-axes (see ``AXES_*`` in settings): the login form itself only
checks the password, through ``authenticate`` with the request, so the counter sees every try.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _


class LoginForm(AuthenticationForm):
    """Django's login form; the attempt limit is enforced by the authentication backend."""


class OtpCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the authenticator app"),
        min_length=6,
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class RecoveryCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Recovery code"),
        max_length=32,
        help_text=_("One of the ten codes you saved when setting up two-factor sign-in."),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "off", "autofocus": True}
        ),
    )
