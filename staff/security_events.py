"""The one writer of security events (RELIABILITY R26) and the signal receivers that feed it.

Sign-ins, failed sign-ins and lockouts arrive through Django's and django-axes' signals; the other
events are recorded where they happen (two-factor checks, the 403 handlers of the pages and the
API, exports, role changes in the admin, client reassignment).
"""

from __future__ import annotations

import ipaddress
import json
import logging

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, connections, transaction
from django.utils import timezone

from core.db_routers import security_events_alias
from core.http import client_ip
from staff.models import SecurityEvent, SecurityEventKind

# Every event is also a log record: on SQLite, where the row shares the request's transaction,
# the log line is what survives a rollback.
logger = logging.getLogger("security")

MAX_DETAIL_TEXT = 300


def _address(request) -> str | None:
    if request is None:
        return None
    try:
        return str(ipaddress.ip_address(client_ip(request) or ""))
    except ValueError:
        return None


def _jsonable(details: dict) -> dict:
    text = json.dumps(details, cls=DjangoJSONEncoder, ensure_ascii=False, default=str)
    return json.loads(text)


def _actor(request, user):
    if user is None and request is not None:
        user = getattr(request, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user


def security_event_record(
    kind: str, *, request=None, user=None, username: str = "", **details
) -> SecurityEvent | None:
    """Write one security event now, outside the caller's transaction (see ``core.db_routers``).

    ``user`` is who acted (default: the request's signed-in user); ``username`` is the name typed
    into a sign-in form. The remaining keyword arguments are the event's details. Never raises: a
    failure to store the event must not turn the user's answer into an error page, so it is
    logged instead."""
    if kind not in SecurityEventKind.values:
        raise ValueError(f"unknown security event kind: {kind}")
    actor = _actor(request, user)
    if not username and actor is not None:
        username = actor.get_username()
    event = SecurityEvent(
        kind=kind,
        actor_id=actor.pk if actor is not None else None,
        username=(username or "")[:150],
        ip_address=_address(request),
        method=(getattr(request, "method", "") or "")[:10],
        path=(getattr(request, "path", "") or "")[:500],
        details=_jsonable(details),
        created_at=timezone.now(),
    )
    logger.info(
        "security event %s: user=%s username=%r ip=%s %s %s %s",
        kind,
        event.actor_id,
        event.username,
        event.ip_address,
        event.method,
        event.path,
        event.details,
        extra={"security_event": kind},
    )
    alias = security_events_alias()
    try:
        with transaction.atomic(using=alias):
            event.save(using=alias)
    except DatabaseError:
        logger.exception("security event %s could not be stored", kind)
        return None
    finally:
        _release(alias)
    return event


def _release(alias: str) -> None:
    """A broken events connection is dropped at once. A healthy one stays open for the next event
    of the same request or task (a handover of 300 clients records 300 owner changes over one
    connection, not 300) and is closed with the others when the request ends
    (``request_finished``) or the Celery task ends (Celery's Django fix-up)."""
    if alias == "default":
        return
    events = connections[alias]
    if events.errors_occurred and not events.in_atomic_block:
        events.close_if_unusable_or_obsolete()


def security_event_on_commit(kind: str, **kwargs) -> None:
    """Record a change (a role, a client's owner) once it is committed: a change that rolled
    back did not happen."""
    transaction.on_commit(lambda: security_event_record(kind, **kwargs))


# --- receivers (connected in StaffConfig.ready) ---------------------------------------------


def on_user_logged_in(sender, request, user, **kwargs) -> None:
    security_event_record(SecurityEventKind.LOGIN_SUCCEEDED, request=request, user=user)


def on_user_login_failed(sender, credentials, request=None, **kwargs) -> None:
    username = str((credentials or {}).get("username") or "")
    security_event_record(
        SecurityEventKind.LOGIN_FAILED, request=request, user=None, username=username
    )


def on_user_locked_out(sender, request, username, ip_address=None, **kwargs) -> None:
    security_event_record(
        SecurityEventKind.LOCKED_OUT, request=request, user=None, username=str(username or "")
    )


def connect_receivers() -> None:
    from axes.signals import user_locked_out
    from django.contrib.auth.signals import user_logged_in, user_login_failed

    user_logged_in.connect(on_user_logged_in, dispatch_uid="security-event-login")
    user_login_failed.connect(on_user_login_failed, dispatch_uid="security-event-login-failed")
    user_locked_out.connect(on_user_locked_out, dispatch_uid="security-event-locked-out")


def api_exception_handler(exc, context):
    """The API's exception handler (``core.api.exception_handler``) that also records every
    refused call, 401 or 403, as a security event (RELIABILITY R26). The event is written outside
    the request's transaction, which DRF rolls back on an error under ATOMIC_REQUESTS."""
    from core.api import exception_handler

    response = exception_handler(exc, context)
    if response is not None and response.status_code in (401, 403):
        security_event_record(
            SecurityEventKind.PERMISSION_DENIED,
            request=context.get("request"),
            status=response.status_code,
            message=str(getattr(exc, "detail", exc))[:MAX_DETAIL_TEXT],
        )
    return response
