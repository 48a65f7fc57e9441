"""Request middleware of the project."""

import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.dispatch import receiver
from django.http import JsonResponse
from django.middleware.locale import LocaleMiddleware
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext


class RussianFirstLocaleMiddleware(LocaleMiddleware):
    """The UI is Russian unless the user chose another language with the switch (SPEC §6).

    Django's own middleware would follow the browser's Accept-Language, so a browser set to
    English would show English on first visit; here only the language cookie, set by the switch
    (``set_language``), changes the language.
    """

    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        available = {code for code, _name in settings.LANGUAGES}
        language = chosen if chosen in available else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


# --- sessions and two-factor (RELIABILITY R09, R13, R14) ----------------------------------

SESSION_STARTED_KEY = "session_started_at"
SESSION_SEEN_KEY = "session_seen_at"
# The last-seen stamp is rewritten at most this often, not on every request.
SESSION_SEEN_RESOLUTION_SECONDS = 60


@receiver(user_logged_in)
def _stamp_session_start(sender, request, user, **kwargs):
    # An API token sign-in has no session of its own to stamp.
    if request is not None and hasattr(request, "session") and not _is_api(request):
        now = int(time.time())
        request.session[SESSION_STARTED_KEY] = now
        request.session[SESSION_SEEN_KEY] = now


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


class SessionLifetimeMiddleware:
    """Ends a signed-in session idle for ``SESSION_IDLE_TIMEOUT`` seconds or older than
    ``SESSION_COOKIE_AGE`` seconds since the login, whatever its activity. A page request is then
    sent to the login page; an API request continues unauthenticated (and gets 401/403)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            session = request.session
            now = int(time.time())
            started = session.get(SESSION_STARTED_KEY)
            seen = session.get(SESSION_SEEN_KEY)
            if started is None or seen is None:
                session[SESSION_STARTED_KEY] = started = now if started is None else started
                session[SESSION_SEEN_KEY] = seen = now
            if (
                now - seen > settings.SESSION_IDLE_TIMEOUT
                or now - started > settings.SESSION_COOKIE_AGE
            ):
                logout(request)
                if not _is_api(request):
                    return redirect_to_login(request.get_full_path())
            elif now - seen >= SESSION_SEEN_RESOLUTION_SECONDS:
                session[SESSION_SEEN_KEY] = now
        return self.get_response(request)


class OtpRequiredMiddleware:
    """A user who must confirm the session with a TOTP code (``staff.two_factor.otp_required``) reaches
    only the two-factor pages, logout and the language switch until then: pages redirect to the
    code form (or to enrolment when no authenticator is set up yet), the API answers 403."""

    OPEN_PREFIXES = ("/static/", "/i18n/", "/healthz/", "/login/", "/logout/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from staff.two_factor import otp_required, totp_confirmed_device

        user = request.user
        if (
            user.is_authenticated
            and not user.is_verified()
            and otp_required(user, request.path)
            and not self._open(request.path)
        ):
            if _is_api(request):
                return JsonResponse(
                    {"detail": gettext("Confirm the sign-in with a one-time code first.")},
                    status=403,
                )
            target = "staff:otp-verify" if totp_confirmed_device(user) else "staff:otp-setup"
            return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)

    def _open(self, path: str) -> bool:
        otp_paths = (
            reverse("staff:otp-setup"),
            reverse("staff:otp-verify"),
            reverse("staff:otp-recovery"),
        )
        return path in otp_paths or path.startswith(self.OPEN_PREFIXES)


class ApiNoStoreMiddleware:
    """API answers carry personal data: no browser or proxy keeps a copy (RELIABILITY R18)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if _is_api(request) and not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store, private"
        return response


class FieldHistoryMiddleware:
    """Binds the signed-in user and the entry point (``web``, ``api`` or ``admin``) for the
    field-history triggers while a request that may change data runs (RELIABILITY R24).

    Safe methods (GET, HEAD, OPTIONS) change nothing in this project, so they cost no extra
    query; the binding of a changing request is always undone when it ends, so a persistent
    connection never lends an actor to the next request (see ``core.field_history``).
    """

    SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from core import field_history

        if request.method in self.SAFE_METHODS:
            return self.get_response(request)
        user = request.user
        binding = field_history.bind(
            actor_id=user.pk if user.is_authenticated else None, source=self._source(request)
        )
        try:
            return self.get_response(request)
        finally:
            field_history.unbind(binding)

    def _source(self, request) -> str:
        from core.models import ChangeSource

        if _is_api(request):
            return ChangeSource.API
        if request.path.startswith(reverse("admin:index")):
            return ChangeSource.ADMIN
        return ChangeSource.WEB
