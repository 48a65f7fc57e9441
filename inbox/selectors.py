"""What the bell and the inbox page read."""

from __future__ import annotations

from django.db.models import QuerySet

from inbox.models import Notification
from staff.models import User


def unread_count(user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def notifications_for(user: User) -> QuerySet[Notification]:
    return (
        Notification.objects.filter(recipient=user)
        .select_related("client")
        .order_by("-created_at", "-pk")
    )
