"""What the project reads from an HTTP request beyond Django's own helpers."""

from __future__ import annotations

from django.conf import settings
from django.utils.http import url_has_allowed_host_and_scheme


def client_ip(request) -> str | None:
    """The client's address: REMOTE_ADDR, or, behind ``TRUSTED_PROXIES`` reverse proxies, the
    address the outermost trusted proxy appended to X-Forwarded-For. Entries a client put in front
    of those are ignored, so a forged header cannot pick the address (R12)."""
    address = request.META.get("REMOTE_ADDR")
    proxies = settings.TRUSTED_PROXIES
    if proxies:
        forwarded = [
            part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        ]
        forwarded = [part for part in forwarded if part]
        if forwarded:
            address = forwarded[-min(proxies, len(forwarded))]
    return address


def safe_next_url(request, *, default: str) -> str:
    """The ``next`` a form or link carries (POST first, then GET) when it points back into this
    site, else ``default``: a crafted link cannot send a user elsewhere after an action."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default
