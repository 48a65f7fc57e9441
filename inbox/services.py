"""Writing and reading off notifications (SPEC §11).

``notify`` is called by the service that puts work on someone, inside that service's transaction:
if the work rolls back, so does the word about it.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from inbox.models import Notification
from staff.models import User


def _wanted(recipient: User | None, actor: User | None) -> bool:
    # Nobody is told about work they gave themselves, and a dismissed person reads nothing.
    if recipient is None or not recipient.is_active:
        return False
    return actor is None or actor.pk != recipient.pk


def notify(
    *,
    recipient: User | None,
    kind: str,
    actor: User | None = None,
    client=None,
    url: str = "",
    **params,
) -> Notification | None:
    """Tell ``recipient`` about ``kind``; ``params`` are what its text needs (strings, numbers,
    ISO dates). Returns the notification, or None when nobody needs telling."""
    if not _wanted(recipient, actor):
        return None
    return Notification.objects.create(
        recipient=recipient, kind=kind, client=client, url=url[:200], params=params
    )


def notify_many(notifications: Iterable[Notification]) -> int:
    """Write prepared notifications at once (a nightly job telling many people)."""
    rows = [n for n in notifications if n.recipient_id is not None]
    Notification.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


@transaction.atomic
def notifications_mark_all_read(user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def notification_open(user: User, pk: int) -> Notification:
    """Mark one of ``user``'s notifications read and give it back (for its link). Another
    person's notification is as missing as one that does not exist."""
    notification = Notification.objects.get(pk=pk, recipient=user)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification
