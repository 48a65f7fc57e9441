"""Database routing: security events go through a connection of their own (RELIABILITY R26).

On PostgreSQL ``settings.DATABASES`` holds a second alias, ``SECURITY_EVENTS_DB``, for the same
database. Its connection is in autocommit and takes no part in the request's transaction, so a
refused write rolled back by the view, a service or DRF's exception handler still leaves its event
behind. Without that alias (SQLite) everything uses the default connection. The alias never runs
migrations: it is the same database.
"""

from __future__ import annotations

from django.conf import settings

SECURITY_EVENT_MODEL = "staff.securityevent"


def security_events_alias() -> str:
    alias = getattr(settings, "SECURITY_EVENTS_DB", "")
    return alias if alias in settings.DATABASES else "default"


def _is_security_event(model_or_instance) -> bool:
    meta = getattr(model_or_instance, "_meta", None)
    return meta is not None and meta.label_lower == SECURITY_EVENT_MODEL


class SecurityEventRouter:
    def db_for_read(self, model, **hints):
        if _is_security_event(model):
            return security_events_alias()
        instance = hints.get("instance")
        if instance is not None and _is_security_event(instance):
            # An event's user is read where users live, not through the events' connection.
            return "default"
        return None

    def db_for_write(self, model, **hints):
        return security_events_alias() if _is_security_event(model) else None

    def allow_relation(self, obj1, obj2, **hints):
        if _is_security_event(obj1) or _is_security_event(obj2):
            return True  # one database under two connections
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if db != "default" and db == getattr(settings, "SECURITY_EVENTS_DB", ""):
            return False
        return None
