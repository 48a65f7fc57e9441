"""Project-level forms: the login form with its attempt limit (SPEC §10)."""

from __future__ import annotations

import hashlib

from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Failed attempts allowed per (address, username) within the window before logins are refused.
LOGIN_ATTEMPTS_LIMIT = 5
LOGIN_ATTEMPTS_WINDOW_SECONDS = 15 * 60


def _attempts_key(request, username: str) -> str:
    address = request.META.get("REMOTE_ADDR", "") if request is not None else ""
    digest = hashlib.sha256(f"{address}|{username.strip().lower()}".encode()).hexdigest()
    return f"login-attempts:{digest}"


class LoginForm(AuthenticationForm):
    """Django's login form, refusing further attempts after repeated failures from one address
    for one username, so passwords cannot be guessed by brute force."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "too_many_attempts": _("Too many failed attempts. Wait %(minutes)d minutes and try again."),
    }

    def clean(self):
        key = _attempts_key(self.request, self.cleaned_data.get("username") or "")
        if cache.get(key, 0) >= LOGIN_ATTEMPTS_LIMIT:
            raise ValidationError(
                self.error_messages["too_many_attempts"],
                code="too_many_attempts",
                params={"minutes": LOGIN_ATTEMPTS_WINDOW_SECONDS // 60},
            )
        try:
            cleaned_data = super().clean()
        except ValidationError:
            cache.add(key, 0, LOGIN_ATTEMPTS_WINDOW_SECONDS)
            try:
                cache.incr(key)
            except ValueError:  # expired between add() and incr()
                cache.set(key, 1, LOGIN_ATTEMPTS_WINDOW_SECONDS)
            raise
        cache.delete(key)
        return cleaned_data
