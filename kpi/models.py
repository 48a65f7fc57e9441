"""Stored KPI figures and the director's goal (SPEC §4).

Dashboards read these rows only; ``kpi.services`` rewrites them from contract, assignment and case
history, so any month can be recomputed and gives the same numbers.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Scope(models.TextChoices):
    DEPARTMENT = "department", _("Department")
    GROUP = "group", _("Mentor group")
    MANAGER = "manager", _("Manager")


class KpiSnapshot(models.Model):
    """Every figure of SPEC §4 for one calendar month and one scope.

    ``scope_id`` is 0 for the department, the mentor's user id for a group, the manager's user id
    for a manager.
    """

    month = models.DateField(_("month"), help_text=_("First day of the month."))
    scope = models.CharField(_("scope"), max_length=12, choices=Scope.choices)
    scope_id = models.PositiveBigIntegerField(_("scope id"), default=0)

    base_start = models.IntegerField(default=0)
    base_end = models.IntegerField(default=0)
    new_clients = models.IntegerField(default=0)
    new_referral = models.IntegerField(default=0)
    new_active_sales = models.IntegerField(default=0)
    new_inbound = models.IntegerField(default=0)
    returned = models.IntegerField(default=0)
    churned = models.IntegerField(default=0)
    churned_natural = models.IntegerField(default=0)
    transferred_in = models.IntegerField(default=0)
    transferred_out = models.IntegerField(default=0)
    churn_rate = models.FloatField(default=0)
    churn_rate_controllable = models.FloatField(default=0)
    annual_churn_rate = models.FloatField(default=0)
    annual_churn_rate_controllable = models.FloatField(default=0)
    cases_returned = models.IntegerField(default=0)
    cases_declined = models.IntegerField(default=0)
    return_rate = models.FloatField(default=0)
    return_rate_12m = models.FloatField(default=0)
    mrr_start = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    mrr_end = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    computed_at = models.DateTimeField(_("computed"))

    class Meta:
        verbose_name = _("KPI snapshot")
        verbose_name_plural = _("KPI snapshots")
        ordering = ["scope", "scope_id", "month"]
        constraints = [
            models.UniqueConstraint(
                fields=["month", "scope", "scope_id"], name="kpi_snapshot_unique"
            ),
            models.CheckConstraint(
                condition=Q(scope__in=Scope.values), name="kpi_snapshot_scope_valid"
            ),
        ]
        indexes = [models.Index(fields=["scope", "scope_id", "month"], name="kpi_scope_month")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.scope} {self.scope_id}"


class Goal(models.Model):
    """The director's growth goal; the plan line is geometric growth from start to target."""

    target_clients = models.PositiveIntegerField(_("target clients"))
    target_on = models.DateField(_("target date"))
    start_clients = models.PositiveIntegerField(_("clients at start"))
    start_on = models.DateField(_("start date"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("set by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("set at"), auto_now_add=True)

    class Meta:
        verbose_name = _("goal")
        verbose_name_plural = _("goals")
        ordering = ["-created_at", "-id"]
        get_latest_by = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(target_on__gt=models.F("start_on")), name="goal_target_after_start"
            ),
            models.CheckConstraint(
                condition=Q(start_clients__gt=0), name="goal_start_clients_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.start_clients} → {self.target_clients} ({self.target_on})"


class PlannerScenario(models.Model):
    """A named set of the growth planner's inputs (SPEC §16), saved by the director so that
    scenarios can be compared on one chart. The inputs are kept as given; the trajectory is always
    recomputed from them."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    inputs = models.JSONField(_("inputs"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("saved by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("saved at"), auto_now_add=True)

    class Meta:
        verbose_name = _("planner scenario")
        verbose_name_plural = _("planner scenarios")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class ReferralSnapshot(models.Model):
    """The referral pipeline's figures (SPEC §14) for one calendar month and one scope, written
    with the KPI snapshots by the same recomputation (``kpi.referral_metrics``).

    A person's figures are those of the leads they own and the calls they made; ``scope_id`` as
    in ``KpiSnapshot``. Ratios are empty when there is nothing to divide by.
    """

    month = models.DateField(_("month"), help_text=_("First day of the month."))
    scope = models.CharField(_("scope"), max_length=12, choices=Scope.choices)
    scope_id = models.PositiveBigIntegerField(_("scope id"), default=0)

    # Leads recorded in the month, and how far those leads have got (the funnel).
    leads = models.IntegerField(_("leads"), default=0)
    funnel_contacted = models.IntegerField(_("of them contacted"), default=0)
    funnel_meeting = models.IntegerField(_("of them met"), default=0)
    funnel_won = models.IntegerField(_("of them won"), default=0)
    # Leads closed in the month.
    leads_won = models.IntegerField(_("leads won"), default=0)
    leads_lost = models.IntegerField(_("leads lost"), default=0)
    lead_conversion = models.FloatField(_("lead conversion"), null=True, blank=True)
    median_days_to_win = models.FloatField(_("median days to win"), null=True, blank=True)
    # Reached calls with a client in good standing, and those where a referral was asked for.
    calls_eligible = models.IntegerField(_("calls to ask at"), default=0)
    calls_asked = models.IntegerField(_("calls asked at"), default=0)
    referral_ask_rate = models.FloatField(_("referral ask rate"), null=True, blank=True)
    computed_at = models.DateTimeField(_("computed"))

    class Meta:
        verbose_name = _("referral snapshot")
        verbose_name_plural = _("referral snapshots")
        ordering = ["scope", "scope_id", "month"]
        constraints = [
            models.UniqueConstraint(
                fields=["month", "scope", "scope_id"], name="referral_snapshot_unique"
            ),
            models.CheckConstraint(
                condition=Q(scope__in=Scope.values), name="referral_snapshot_scope_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["scope", "scope_id", "month"], name="referral_snapshot_scope")
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.scope} {self.scope_id}"
