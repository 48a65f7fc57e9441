"""Notifications (SPEC §11): what tells a person that work has reached them.

A notification is stored as a kind plus parameters, and its text is rendered in the reader's
language when it is shown (``inbox.texts``), so switching the interface language rewrites the
whole inbox. The client is referred to by name only through the relation, so a renamed client
reads with its current name.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class NotificationKind(models.TextChoices):
    CLIENT_ASSIGNED = "client_assigned", _("A client is now yours")
    REFUSAL_REQUESTED = "refusal_requested", _("A refusal to approve")
    REFUSAL_APPROVED = "refusal_approved", _("Refusal approved")
    REFUSAL_REJECTED = "refusal_rejected", _("Refusal rejected")
    TASK_GIVEN = "task_given", _("A task for you")
    FREE_MONTH_ENDING = "free_month_ending", _("A free month is ending")
    REFERRAL_GIVEN = "referral_given", _("A lead is now yours")
    THANK_REFERRER = "thank_referrer", _("Thank a referrer")


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.PROTECT,
        related_name="notifications",
    )
    kind = models.CharField(_("kind"), max_length=30, choices=NotificationKind.choices)
    client = models.ForeignKey(
        "clients.Client",
        verbose_name=_("client"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # What the text needs besides the client: names, dates (ISO), amounts, a comment.
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    url = models.CharField(_("link"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        indexes = [
            # The header bell's count runs on every page: one index-only probe per person.
            models.Index(
                fields=["recipient"],
                condition=Q(read_at__isnull=True),
                name="notification_unread_idx",
            ),
            models.Index(fields=["recipient", "-created_at"], name="notification_inbox_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.recipient}"
