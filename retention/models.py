"""Lost clients and the win-back workflow (SPEC §2 retention, §3.2–§3.3)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from clients.models import Client, Contract, TerminationReason


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLAIMED = "claimed", _("Claimed")
    FREE_MONTH = "free_month", _("Free month")
    RETURNED = "returned", _("Returned")
    DECLINED = "declined", _("Declined")


# A case in one of these is still being worked: it blocks a second case for the same client.
ACTIVE_CASE_STATUSES = (CaseStatus.OPEN, CaseStatus.CLAIMED, CaseStatus.FREE_MONTH)
CLOSED_CASE_STATUSES = (CaseStatus.RETURNED, CaseStatus.DECLINED)


class LostCase(models.Model):
    """One per controllable loss of a client."""

    client = models.ForeignKey(
        Client, verbose_name=_("client"), on_delete=models.PROTECT, related_name="lost_cases"
    )
    lost_on = models.DateField(_("lost on"), help_text=_("First day without paid service."))
    lost_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("lost by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="lost_cases",
    )
    reason = models.CharField(_("reason"), max_length=20, choices=TerminationReason.choices)
    # Monthly fee of the contract that ended: the queue puts the most valuable clients first.
    lost_fee = models.DecimalField(
        _("lost monthly fee"), max_digits=12, decimal_places=2, default=0
    )
    status = models.CharField(
        _("status"), max_length=20, choices=CaseStatus.choices, default=CaseStatus.OPEN
    )
    return_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("return manager"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="claimed_cases",
    )
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    free_month_contract = models.ForeignKey(
        Contract,
        verbose_name=_("free month contract"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    returned_on = models.DateField(_("returned on"), null=True, blank=True)
    new_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("new manager"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="returned_cases",
    )
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    decline_reason = models.TextField(_("decline reason"), blank=True)
    # An agreed return (SPEC §3.3): during the free month the client agreed to pay from a day
    # still ahead. Only the case holds it until that day; the nightly chain then carries the
    # return out (``lost_cases_carry_out_agreed_returns``), so no contract or assignment is
    # ever dated in the future. Kept once carried out, as the record of what was agreed.
    agreed_on = models.DateField(_("return agreed on"), null=True, blank=True)
    agreed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("return agreed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    agreed_starts_on = models.DateField(
        _("agreed return from"),
        null=True,
        blank=True,
        help_text=_("First day of the paid service the client agreed to."),
    )
    agreed_fee = models.DecimalField(
        _("agreed monthly fee"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    agreed_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agreed new manager"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="agreed_returns",
    )
    agreed_number = models.CharField(_("agreed contract number"), max_length=50, blank=True)
    agreed_failure = models.TextField(_("why the agreed return was not carried out"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("lost client case")
        verbose_name_plural = _("lost client cases")
        ordering = ["-lost_fee", "-lost_on"]
        constraints = [
            # SPEC §2: a returned client never goes back to the manager who lost it.
            models.CheckConstraint(
                condition=Q(new_manager__isnull=True)
                | Q(lost_by__isnull=True)
                | ~Q(new_manager=F("lost_by")),
                name="case_new_manager_not_lost_by",
            ),
            models.UniqueConstraint(
                fields=["client"],
                condition=Q(status__in=ACTIVE_CASE_STATUSES),
                name="case_one_active_per_client",
            ),
            models.CheckConstraint(
                condition=Q(status__in=CaseStatus.values), name="case_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=CLOSED_CASE_STATUSES) | Q(closed_on__isnull=False),
                name="case_closed_has_date",
            ),
            models.CheckConstraint(
                condition=Q(status=CaseStatus.OPEN)
                | Q(return_manager__isnull=False)
                | Q(status=CaseStatus.DECLINED)
                | Q(status=CaseStatus.RETURNED),
                name="case_claimed_has_manager",
            ),
            # An agreement is whole or absent, and lives only on a case in its free month (or
            # on the case it turned into a return).
            models.CheckConstraint(
                condition=Q(
                    agreed_on__isnull=True,
                    agreed_by__isnull=True,
                    agreed_starts_on__isnull=True,
                    agreed_fee__isnull=True,
                    agreed_manager__isnull=True,
                )
                | Q(
                    agreed_on__isnull=False,
                    agreed_by__isnull=False,
                    agreed_starts_on__isnull=False,
                    agreed_fee__gte=0,
                    agreed_manager__isnull=False,
                    status__in=[CaseStatus.FREE_MONTH, CaseStatus.RETURNED],
                ),
                name="case_agreement_whole",
            ),
            models.CheckConstraint(
                condition=Q(agreed_manager__isnull=True)
                | Q(lost_by__isnull=True)
                | ~Q(agreed_manager=F("lost_by")),
                name="case_agreed_manager_not_lost_by",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-lost_fee", "-lost_on"], name="case_queue"),
            models.Index(fields=["closed_on"], name="case_closed_on"),
            # SPEC §9: the API list's ordering (every status).
            models.Index(fields=["-lost_fee", "-lost_on", "id"], name="case_fee_order"),
            # The nightly chain's agreed returns that are due.
            models.Index(
                fields=["agreed_starts_on"],
                condition=Q(status=CaseStatus.FREE_MONTH, agreed_starts_on__isnull=False),
                name="case_agreed_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client} ({self.lost_on})"
