"""Audit trail helpers around django-simple-history (SPEC §3.7).

Services save through ``save_audited`` so every history row carries who did it and why. A conditional
``UPDATE`` (used for race-free state transitions) bypasses ``save()`` and its history signal, so it
records its row explicitly with ``record_update``.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


def save_audited(
    instance: models.Model, *, actor, reason: str, update_fields: list[str] | None = None
) -> None:
    instance._history_user = actor
    instance._change_reason = reason
    if update_fields is None:
        instance.save()
    else:
        instance.save(update_fields=update_fields)


def record_update(instance: models.Model, *, actor, reason: str) -> None:
    """Write the history row for ``instance`` as it is now (reload it first)."""
    history_model = getattr(
        type(instance), type(instance)._meta.simple_history_manager_attribute
    ).model
    values = {
        field.attname: getattr(instance, field.attname) for field in history_model.tracked_fields
    }
    history_model.objects.create(
        history_date=timezone.now(),
        history_type="~",
        history_user=actor,
        history_change_reason=reason,
        **values,
    )
