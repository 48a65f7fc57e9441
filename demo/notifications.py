"""The demo's inboxes (SPEC §11): what each person was told in the last month, written as the
services would have written it on the day.

A client that landed in a book (a handover after a sale, a reassignment, a dismissal, a return)
told its new manager and came with a welcome call due two working days later; the calls of the
last days are still open, the older ones were made. A refusal waiting for a decision told its
approver. Anything older than two days has been read. (Free months ending are told by the
nightly service itself, which the demo runs.)
"""

from __future__ import annotations

import datetime

from django.urls import reverse

from clients.models import AssignmentReason, Task, TaskKind
from core.working_days import add_working_days
from demo.activity import Activity
from demo.simulation import Company
from demo.tables import BulkTables
from inbox.models import Notification, NotificationKind

RECENT_DAYS = 30
READ_AFTER_DAYS = 2
WELCOME_CALL_WORKING_DAYS = 2


def inboxes_write(company: Company, tables: BulkTables, activity: Activity) -> None:
    today = company.today
    since = today - datetime.timedelta(days=RECENT_DAYS)
    notices = tables.table(Notification, with_ids=False)
    tasks = tables.table(Task, with_ids=False)

    def seen(day: datetime.date):
        return (
            company.at(day + datetime.timedelta(days=1), 9)
            if (today - day).days > READ_AFTER_DAYS
            else None
        )

    for client in company.clients:
        landed = client.assignments[-1]
        if (
            landed.reason == AssignmentReason.INITIAL
            or landed.starts_on is None
            or landed.starts_on < since
            or company.by_id[landed.manager].dismissed_on is not None
        ):
            continue
        day = landed.starts_on
        due = add_working_days(day, WELCOME_CALL_WORKING_DAYS)
        previous = company.by_id[client.assignments[-2].manager]
        params = {
            "reason": landed.reason,
            "previous": previous.full_name,
            "welcome_due": due.isoformat(),
        }
        if landed.reason == AssignmentReason.RETURN and client.cases:
            case = client.cases[-1]
            params["fee"] = str(case.fee)
            if case.free is not None and case.free.ends_on is not None:
                params["free_month_ended"] = case.free.ends_on.isoformat()
        notices.add(
            {
                "recipient_id": landed.manager,
                "kind": NotificationKind.CLIENT_ASSIGNED,
                "client_id": client.id,
                "params": params,
                "url": reverse("clients:detail", args=[client.id]),
                "created_at": company.at(day, 9, 5),
                "read_at": seen(day),
            }
        )
        tasks.add(
            {
                "assignee_id": landed.manager,
                "client_id": client.id,
                "kind": TaskKind.WELCOME_CALL,
                "title": "",
                "due_on": due,
                "done_at": None if due >= today else company.at(due, 11),
                "created_by_id": None,
                "created_at": company.at(day, 9, 5),
            }
        )
    for client_id, (topic, asked, requested_by) in activity.pending_refusals.items():
        client = company.client_by_id[client_id]
        approver = company.refusal_approver(client, requested_by=requested_by, day=asked.date())
        notices.add(
            {
                "recipient_id": approver,
                "kind": NotificationKind.REFUSAL_REQUESTED,
                "client_id": client_id,
                "params": {
                    "by": company.by_id[requested_by].full_name,
                    "topic": topic,
                    "reason": activity.refusal_reasons[client_id],
                },
                "url": reverse("team:team") + "#refusals",
                "created_at": asked,
                "read_at": seen(asked.date()),
            }
        )
