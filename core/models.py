"""The kernel's tables: field history written by the database itself (RELIABILITY R24), and the
claims of periodic jobs (R36).

Field history.

``django-simple-history`` records what goes through ``Model.save()``; a ``QuerySet.update()``,
a ``bulk_update`` or raw SQL bypass it. On PostgreSQL, row triggers on the business-critical
tables (``core.field_history.TRACKED_FIELDS``) write one :class:`FieldChange` per changed field
whatever wrote it. The rows are append-only (R25): a trigger refuses UPDATE and DELETE.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ChangeSource(models.TextChoices):
    WEB = "web", _("Web page")
    API = "api", _("API")
    ADMIN = "admin", _("Admin")
    TASK = "task", _("Background task")
    COMMAND = "command", _("Management command")
    SQL = "sql", _("Direct SQL")


class FieldChange(models.Model):
    """One tracked field of one row changed from ``old_value`` to ``new_value``.

    Values are the database's text form of the column (a date as ``2026-01-31``, an amount as
    ``1500.00``, a foreign key as the id); ``old_value`` is empty when a row is inserted. The
    actor is a plain user id without a foreign-key constraint, so the trail never blocks or loses
    anything when people change; ``source`` says which entry point wrote it (``sql`` when none
    said, e.g. a migration or a console session).
    """

    table_name = models.CharField(_("table"), max_length=63)
    row_id = models.BigIntegerField(_("row id"))
    field = models.CharField(_("field"), max_length=63)
    # NULL is "no value" (an open end date), distinct from an empty text such as "no reason".
    old_value = models.TextField(_("old value"), null=True, blank=True)  # noqa: DJ001
    new_value = models.TextField(_("new value"), null=True, blank=True)  # noqa: DJ001
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    source = models.CharField(_("source"), max_length=10, choices=ChangeSource.choices)
    changed_at = models.DateTimeField(_("changed"), default=timezone.now)

    class Meta:
        verbose_name = _("field change")
        verbose_name_plural = _("field history")
        ordering = ["-changed_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(source__in=ChangeSource.values), name="fieldchange_source_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["table_name", "row_id", "id"], name="fieldchange_row"),
            models.Index(fields=["-changed_at", "-id"], name="fieldchange_time_order"),
        ]

    def __str__(self) -> str:
        return f"{self.table_name}#{self.row_id}.{self.field}"


class JobOutcome(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class JobRun(models.Model):
    """One run of a periodic job for one period (the nightly chain: one row per night).

    The unique (job, period) pair is the claim: a second scheduler, or a beat that fires twice,
    finds the row taken and skips, so the job runs once per period whatever the scheduler does.
    """

    job = models.CharField(_("job"), max_length=64)
    period = models.CharField(
        _("period"), max_length=32, help_text=_("The period the run covers, e.g. the night's date.")
    )
    task_id = models.CharField(_("task id"), max_length=64, blank=True)
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=8, choices=JobOutcome.choices, default=JobOutcome.RUNNING
    )
    result = models.JSONField(_("summary"), default=dict, blank=True)

    class Meta:
        # Created by the KPI app before the task support moved into the kernel.
        db_table = "kpi_jobrun"
        verbose_name = _("job run")
        verbose_name_plural = _("job runs")
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["job", "period"], name="job_run_once_per_period"),
            models.CheckConstraint(
                condition=Q(outcome__in=JobOutcome.values), name="job_run_outcome_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.job} {self.period} {self.outcome}"
