"""The demo's inboxes (SPEC §11) tell the truth of its history: every client that landed in an
active person's book in the last month told them, with a welcome call due two working days
later; every refusal waiting for a decision told its approver; the free months ending in three
days told the return manager; and the texts read in Russian."""

from __future__ import annotations

import datetime

from django.utils import translation

from clients.models import (
    AssignmentReason,
    ClientAssignment,
    ClientRequest,
    RequestStatus,
    Task,
    TaskKind,
)
from core.working_days import add_working_days
from inbox.models import Notification, NotificationKind
from inbox.texts import notification_text
from tests.demo.conftest import TODAY

MONTH_AGO = TODAY - datetime.timedelta(days=30)


def test_each_recent_arrival_in_a_book_told_its_manager_with_a_welcome_call(demo):
    arrivals = (
        ClientAssignment.objects.filter(
            ends_on__isnull=True, starts_on__gte=MONTH_AGO, manager__is_active=True
        )
        .exclude(reason=AssignmentReason.INITIAL)
        .values_list("client_id", "manager_id", "starts_on")
    )
    told = Notification.objects.filter(kind=NotificationKind.CLIENT_ASSIGNED)

    assert len(arrivals) > 0
    assert sorted(told.values_list("client_id", "recipient_id")) == sorted(
        (client, manager) for client, manager, _day in arrivals
    )
    welcomes = {
        (t.client_id, t.assignee_id): t.due_on
        for t in Task.objects.filter(kind=TaskKind.WELCOME_CALL)
    }
    assert welcomes == {
        (client, manager): add_working_days(day, 2) for client, manager, day in arrivals
    }
    # Read a few days after it came; the last days' ones still wait.
    for notice in told.select_related("client"):
        landed = notice.created_at.date()
        assert (notice.read_at is None) == ((TODAY - landed).days <= 2)
    with translation.override("ru"):
        assert all(notification_text(n).startswith(f"Клиент «{n.client.name}»") for n in told)


def test_each_refusal_waiting_told_its_approver_and_free_months_ending_told_the_returner(demo):
    pending = ClientRequest.objects.filter(status=RequestStatus.REFUSAL_PENDING)
    approvals = Task.objects.filter(kind=TaskKind.REFUSAL_APPROVAL, done_at__isnull=True)
    asked = Notification.objects.filter(kind=NotificationKind.REFUSAL_REQUESTED)

    assert sorted(asked.values_list("client_id", "recipient_id")) == sorted(
        approvals.values_list("client_id", "assignee_id")
    )
    assert asked.count() == pending.count()
    for notice in asked:
        request = pending.get(client_id=notice.client_id)
        assert notice.params["reason"] == request.refusal_reason
    ending = Task.objects.filter(kind=TaskKind.FREE_MONTH_ENDING, done_at__isnull=True)
    assert sorted(
        Notification.objects.filter(kind=NotificationKind.FREE_MONTH_ENDING).values_list(
            "client_id", "recipient_id"
        )
    ) == sorted(ending.values_list("client_id", "assignee_id"))
