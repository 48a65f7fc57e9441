"""What the project reads from an HTTP request beyond Django's own helpers."""

from __future__ import annotations

from django.conf import settings


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
