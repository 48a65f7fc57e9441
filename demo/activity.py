"""The demo company's day-to-day activity, drawn client by client while the rows are written.

For each client of the simulated company: its people (contacts), the calls of its managers while it
paid (a contact every few weeks, unanswered calls, complaints before some losses), the return
manager's calls after a loss, its requests and their fate (resolved, refused with the mentor's
approval, still open), the referrals it gave, and the tasks people have today. There are
millions of these at scale (≈ 3 million calls over 5 years at 60,000 clients), so they go
straight to the bulk tables instead of being held in memory.
"""

from __future__ import annotations

import datetime

from django.conf import settings

from clients.models import (
    ClientRequest,
    ClientStatus,
    Contact,
    ContractKind,
    Interaction,
    InteractionKind,
    InteractionOutcome,
    Referral,
    ReferralAsk,
    ReferralStageChange,
    ReferralStatus,
    RequestStatus,
    RequestUrgency,
    Task,
    TaskKind,
    TerminationReason,
)
from clients.services import request_due_at
from core.dates import ONE_DAY
from demo import institutions
from demo import vocabulary as vocab
from demo.simulation import REFERRAL_RATE, Company, SimCase, SimClient, coverage
from demo.tables import BulkTable, BulkTables, HistoryTable

REQUEST_RATE = 0.12
# Days between two reached contacts with a client (≈ 1.3 a month, with the unanswered calls
# ≈ 1.8 interactions a month: ≈ 3 million over 5 years at 60,000 clients).
CONTACT_GAP_DAYS = (15, 31)
REACH_PROBABILITY = 0.78
RECENT_DAYS = 10  # requests younger than this are still being worked

REACHED_KINDS = (
    (InteractionKind.CALL_OUT, 70),
    (InteractionKind.CALL_IN, 12),
    (InteractionKind.MESSENGER, 8),
    (InteractionKind.EMAIL, 6),
    (InteractionKind.MEETING, 4),
)

COMPLAINED_BEFORE_LEAVING = {
    TerminationReason.SERVICE_QUALITY: vocab.COMPLAINT_SUMMARIES[2],
    TerminationReason.REFUSED_REQUEST: vocab.COMPLAINT_SUMMARIES[1],
    TerminationReason.PRICE: vocab.COMPLAINT_SUMMARIES[5],
    TerminationReason.COMPETITOR: vocab.COMPLAINT_SUMMARIES[4],
}


def workday(day: datetime.date) -> datetime.date:
    """Weekend contacts move to Friday."""
    weekday = day.weekday()
    return day - datetime.timedelta(days=weekday - 4) if weekday > 4 else day


class Activity:
    """Draws the activity of ``company`` into ``tables``, one step at a time, in a fixed order
    (``contacts``, ``interactions``, ``referrals_and_tasks``) after the company's own rows."""

    def __init__(self, company: Company, tables: BulkTables):
        self.company = company
        self.draws = company.draws
        self.tables = tables
        # Filled while the requests are drawn, read when the tasks are: client id → (topic,
        # when the refusal was asked, who asked).
        self.pending_refusals: dict[int, tuple[str, datetime.datetime, int]] = {}
        self.refusal_reasons: dict[int, str] = {}  # client id → why its refusal was asked

    def contacts(self) -> None:
        table = self.tables.table(Contact, with_ids=False)
        for client in self.company.clients:
            for row in institutions.contacts(
                self.draws, client_id=client.id, kind=client.kind, phone_code=client.phone_code
            ):
                table.add(row)

    # --- interactions and requests ---

    def interactions(self) -> None:
        company = self.company
        interactions = _AskedCalls(
            self.tables.table(Interaction, tuples=True, with_ids=False), company, self.draws
        )
        requests = self.tables.table(ClientRequest)
        request_history = self.tables.history(ClientRequest)
        now = company.at(company.today, 0)
        for client in company.clients:
            paid = [
                (c.starts_on, c.ends_on, c.reason)
                for c in client.contracts
                if c.kind == ContractKind.PAID
            ]
            for start, end, reason in coverage(paid):
                interactions.in_base_since = start
                # Contacts and requests are logged from the day the history starts: years of
                # contracts before it were entered with the client, calls were not.
                start = max(start, company.start)
                last = company.last_day if end is None else min(end, company.last_day)
                if start > last:
                    continue
                self._contacts(client, start, last, reason if end is not None else "", interactions)
                self._requests(
                    client,
                    start,
                    last,
                    reason if end is not None else "",
                    requests,
                    request_history,
                    now,
                )
            interactions.in_base_since = None
            for case in client.cases:
                self._return_attempts(client, case, interactions)

    def _contacts(self, client: SimClient, start, last, reason: str, out: BulkTable) -> None:
        """The manager's contacts with a paying client; a client about to leave for lack of
        contact is not called in its last weeks, one about to leave for a reason it complained
        about complains first."""
        draws, company = self.draws, self.company
        stop = (
            last - datetime.timedelta(days=45) if reason == TerminationReason.NO_CONTACT else last
        )
        day = start + datetime.timedelta(days=draws.randint(0, 20))
        low, high = CONTACT_GAP_DAYS
        while day <= stop:
            staff = client.manager_on(day)
            quality = company.by_id[staff].quality
            reach = min(0.95, REACH_PROBABILITY / quality**0.5)
            for attempt in range(3):
                when = workday(day)
                occurred = company.at(when, draws.randint(9, 17), draws.randint(0, 59))
                if draws.random() < reach or (attempt == 2 and draws.random() < 0.5):
                    draw = draws.random()
                    if draw < 0.025 * quality:
                        outcome, summary = (
                            InteractionOutcome.COMPLAINT,
                            draws.choice(vocab.COMPLAINT_SUMMARIES),
                        )
                    else:
                        outcome, summary = (
                            InteractionOutcome.REACHED,
                            draws.choice(vocab.REACHED_SUMMARIES),
                        )
                    kind = draws.weighted(REACHED_KINDS)
                    minutes = (
                        0
                        if kind in (InteractionKind.EMAIL, InteractionKind.MESSENGER)
                        else draws.randint(3, 25) * (3 if kind == InteractionKind.MEETING else 1)
                    )
                    follow = when + datetime.timedelta(days=30) if draws.random() < 0.5 else None
                    out.add((client.id, staff, kind, occurred, minutes, outcome, summary, follow))
                    break
                if draws.random() < 0.7:
                    outcome, summary, follow = (
                        InteractionOutcome.NO_ANSWER,
                        draws.choice(vocab.NO_ANSWER_SUMMARIES),
                        when + ONE_DAY,
                    )
                else:
                    outcome, summary, follow = (
                        InteractionOutcome.CALLBACK_REQUESTED,
                        draws.choice(vocab.CALLBACK_SUMMARIES),
                        when + draws.days(1, 7),
                    )
                out.add(
                    (
                        client.id,
                        staff,
                        InteractionKind.CALL_OUT,
                        occurred,
                        draws.randint(0, 1),
                        outcome,
                        summary,
                        follow,
                    )
                )
                day += draws.days(1, 3)
                if day > stop:
                    break
            day += datetime.timedelta(days=int(draws.randint(low, high) * (0.75 + 0.25 * quality)))
        if reason in COMPLAINED_BEFORE_LEAVING:
            when = workday(last - draws.days(10, 40))
            if when >= start:
                summary = COMPLAINED_BEFORE_LEAVING[reason]
                occurred = company.at(when, draws.randint(9, 17), draws.randint(0, 59))
                out.add(
                    (
                        client.id,
                        client.manager_on(when),
                        InteractionKind.CALL_IN,
                        occurred,
                        draws.randint(5, 20),
                        InteractionOutcome.COMPLAINT,
                        summary,
                        when + ONE_DAY,
                    )
                )

    def _return_attempts(self, client: SimClient, case: SimCase, out: BulkTable) -> None:
        """The return manager's calls from the day the case was claimed."""
        if case.claimed_at is None:
            return
        draws, company = self.draws, self.company
        end = case.closed_on or company.last_day
        day = case.claimed_at.date()
        for _draw in range(draws.randint(1, 4)):
            if day > min(end, company.last_day):
                break
            when = workday(day)
            occurred = company.at(when, draws.randint(9, 17), draws.randint(0, 59))
            outcome = (
                InteractionOutcome.REACHED if draws.random() < 0.7 else InteractionOutcome.NO_ANSWER
            )
            summary = draws.choice(
                vocab.RETURN_SUMMARIES
                if outcome == InteractionOutcome.REACHED
                else vocab.NO_ANSWER_SUMMARIES
            )
            out.add(
                (
                    client.id,
                    case.return_manager,
                    InteractionKind.CALL_OUT,
                    occurred,
                    draws.randint(2, 15),
                    outcome,
                    summary,
                    None,
                )
            )
            day += draws.days(2, 12)

    def _requests(
        self, client: SimClient, start, last, reason: str, out, history: HistoryTable, now
    ) -> None:
        """Requests while the client pays; one refused shortly before a refused-request loss."""
        draws = self.draws
        mean_gap = 30.4 / REQUEST_RATE
        day = start + datetime.timedelta(days=int(draws.expovariate(1 / mean_gap)))
        while day <= last:
            self._request(client, workday(day), out, history, now, refuse=False)
            day += datetime.timedelta(days=1 + int(draws.expovariate(1 / mean_gap)))
        if reason == TerminationReason.REFUSED_REQUEST:
            day = workday(last - draws.days(15, 50))
            if day >= start:
                self._request(client, day, out, history, now, refuse=True)

    def _request(
        self, client: SimClient, day, out, history: HistoryTable, now, *, refuse: bool
    ) -> None:
        """One request with its history: old ones are resolved (a few refused, with the
        approver's consent, SPEC §3.4); the last days' ones may still be open, in progress or
        waiting for a refusal approval."""
        draws, company = self.draws, self.company
        staff = client.manager_on(day)
        urgency = RequestUrgency.URGENT if draws.random() < 0.2 else RequestUrgency.NORMAL
        opened = company.at(day, draws.randint(9, 17), draws.randint(0, 59))
        due = request_due_at(
            opened,
            urgency,
            urgent_hours=settings.REQUEST_SLA_URGENT_HOURS,
            normal_working_days=settings.REQUEST_SLA_NORMAL_WORKING_DAYS,
            tz=company.tz,
        )
        row = {
            "id": company.new_id(ClientRequest),
            "client_id": client.id,
            "logged_by_id": staff,
            "topic": draws.choice(vocab.REQUEST_TOPICS),
            "description": draws.choice(vocab.REQUEST_DESCRIPTIONS),
            "urgency": urgency,
            "opened_at": opened,
            "due_at": due,
            "status": RequestStatus.OPEN,
            "resolved_at": None,
            "refusal_reason": "",
            "refusal_requested_by_id": None,
            "refusal_approved_by_id": None,
        }
        history.record(row, "+", opened, staff, "заявка зарегистрирована")
        recent = (company.today - day).days <= RECENT_DAYS
        draw = draws.random()
        if refuse or (not recent and draw < 0.005):
            asked = opened + datetime.timedelta(hours=draws.randint(2, 30))
            approved = asked + datetime.timedelta(hours=draws.randint(1, 20))
            if approved >= now:
                refuse = False
            else:
                # The approver must still be the one when approving (the service checks it).
                approver = company.refusal_approver(client, requested_by=staff, day=approved.date())
                pending = {
                    **row,
                    "status": RequestStatus.REFUSAL_PENDING,
                    "refusal_reason": draws.choice(vocab.REFUSAL_REASONS),
                    "refusal_requested_by_id": staff,
                }
                history.record(pending, "~", asked, staff, "запрошен отказ")
                row = {
                    **pending,
                    "status": RequestStatus.REFUSED,
                    "refusal_approved_by_id": approver,
                }
                history.record(row, "~", approved, approver, "отказ согласован")
                out.add(row)
                return
        if recent:
            if draw < 0.3:
                status = RequestStatus.OPEN
            elif draw < 0.65:
                status = RequestStatus.IN_PROGRESS
            elif draw < 0.93 or client.id in self.pending_refusals:
                status = RequestStatus.RESOLVED
            else:
                status = RequestStatus.REFUSAL_PENDING
        else:
            status = RequestStatus.RESOLVED
        if status == RequestStatus.RESOLVED:
            hours = (
                draws.uniform(0.5, 6) if urgency == RequestUrgency.URGENT else draws.uniform(1, 60)
            )
            resolved = opened + datetime.timedelta(hours=hours)
            if resolved >= now:
                status = RequestStatus.IN_PROGRESS
            else:
                row = {**row, "status": status, "resolved_at": resolved}
                history.record(row, "~", resolved, staff, "заявка решена")
        if status == RequestStatus.IN_PROGRESS:
            taken = min(
                opened + datetime.timedelta(minutes=draws.randint(10, 90)), now - ONE_DAY / 24
            )
            row = {**row, "status": status}
            history.record(row, "~", max(taken, opened), staff, "заявка в работе")
        elif status == RequestStatus.REFUSAL_PENDING:
            asked = min(opened + datetime.timedelta(hours=draws.randint(1, 8)), now - ONE_DAY / 24)
            asked = max(asked, opened)
            row = {
                **row,
                "status": status,
                "refusal_reason": draws.choice(vocab.REFUSAL_REASONS),
                "refusal_requested_by_id": staff,
            }
            history.record(row, "~", asked, staff, "запрошен отказ")
            self.pending_refusals[client.id] = (row["topic"], asked, staff)
            self.refusal_reasons[client.id] = row["refusal_reason"]
        out.add(row)

    # --- referrals and tasks ---

    def referrals_and_tasks(self) -> None:
        self._referrals()
        self._tasks()

    def _referrals(self) -> None:
        """SPEC §14's pipeline: the won leads of the simulation (one per referral client, through
        a call and usually a meeting), leads lost before many of them, and the open leads of the
        last weeks — some stalled past their next step, a few naming an organisation another open
        lead already names (duplicates)."""
        draws, company = self.draws, self.company
        referrals = self.tables.table(Referral)
        stages = self.tables.table(ReferralStageChange, with_ids=False)
        pipeline = _Pipeline(referrals, stages, company, draws)
        for (
            referrer,
            recorded_by,
            organisation,
            inn,
            contact,
            _won,
            client_id,
            day,
        ) in company.referrals:
            closed = max(company.client_by_id[client_id].created, day)
            pipeline.add(
                referrer, recorded_by, organisation, inn, contact, day,
                status=ReferralStatus.WON, client_id=client_id, closed_on=closed,
            )  # fmt: skip
            # About as many leads are lost as won (SPEC §14 demo: ≈ 90 leads, ≈ 40 won a month).
            for _lost in range(1 + (draws.random() < 0.15)):
                lost_day = day - draws.days(0, 60)
                pipeline.add(
                    referrer,
                    company.client_by_id[referrer].manager_on(lost_day),
                    *institutions.lead(draws, company.used_inns),
                    lost_day,
                    status=ReferralStatus.LOST,
                    closed_on=min(lost_day + draws.days(3, 40), company.today),
                )
        active = [company.client_by_id[cid] for cid in company.active]
        expected = REFERRAL_RATE * len(active) * 1.5
        open_inns: list[str] = []
        for _draw in range(int(expected)):
            referrer = draws.choice(active)
            day = draws.day_in(
                max(company.today - datetime.timedelta(days=45), referrer.created),
                company.last_day,
            )
            status = draws.weighted(
                [
                    (ReferralStatus.NEW, 0.35),
                    (ReferralStatus.CONTACTED, 0.4),
                    (ReferralStatus.MEETING, 0.25),
                ]
            )
            organisation, inn, contact = institutions.lead(draws, company.used_inns)
            if open_inns and draws.random() < 0.04:
                inn = draws.choice(open_inns)  # another client named the same organisation
            open_inns.append(inn)
            pipeline.add(
                referrer.id, referrer.manager_on(day), organisation, inn, contact, day,
                status=status,
            )  # fmt: skip

    def _tasks(self) -> None:
        """Tasks people made today, and the refusal approvals waiting for a decision. The
        nightly job's system tasks (follow-ups, overdue requests, free months ending) are left
        to its own services, run once the rows are written."""
        draws, company = self.draws, self.company
        tasks = self.tables.table(Task, with_ids=False)
        # client_request_refuse gives the approver the task when the refusal is asked.
        for client_id, (topic, asked, requested_by) in self.pending_refusals.items():
            approver = company.refusal_approver(
                company.client_by_id[client_id], requested_by=requested_by, day=asked.date()
            )
            tasks.add(
                self._task(
                    approver, client_id, TaskKind.REFUSAL_APPROVAL, topic, asked.date(), None, asked
                )
            )
        for client in company.clients:
            manager = company.by_id[client.manager]
            if client.status != ClientStatus.ACTIVE or manager.dismissed_on is not None:
                continue
            if draws.random() < 0.02:
                due = company.today + draws.days(0, 10)
                tasks.add(
                    self._task(
                        manager.id,
                        client.id,
                        TaskKind.MANUAL,
                        draws.choice(vocab.MANUAL_TASK_TITLES),
                        due,
                        manager.id,
                        company.at(company.last_day, 16),
                    )
                )

    @staticmethod
    def _task(assignee, client_id, kind, title, due_on, created_by, created_at) -> dict:
        return {
            "assignee_id": assignee,
            "client_id": client_id,
            "kind": kind,
            "title": title,
            "due_on": due_on,
            "done_at": None,
            "created_by_id": created_by,
            "created_at": created_at,
        }


class _AskedCalls:
    """The contacts table with SPEC §14's question answered: a reached call or meeting with a
    client in the base for three months or more is one to ask for a referral at; people ask
    more often as the history goes on (the department learning the habit)."""

    def __init__(self, table: BulkTable, company: Company, draws) -> None:
        self.table, self.company, self.draws = table, company, draws
        self.in_base_since: datetime.date | None = None
        self.span = max(1, (company.today - company.start).days)

    def add(self, row: tuple) -> None:
        _client, _staff, kind, occurred, _minutes, outcome, _summary, _follow = row
        day = occurred.date()
        eligible = (
            self.in_base_since is not None
            and outcome == InteractionOutcome.REACHED
            and kind in (InteractionKind.CALL_OUT, InteractionKind.CALL_IN, InteractionKind.MEETING)
            and (day - self.in_base_since).days >= 92
        )
        asked = ""
        if eligible:
            habit = 0.25 + 0.35 * max(0, (day - self.company.start).days) / self.span
            if self.draws.random() < habit:
                asked = ReferralAsk.YES if self.draws.random() < 0.7 else ReferralAsk.DECLINED
            else:
                asked = ReferralAsk.NO
        self.table.add((*row, eligible, asked))


class _Pipeline:
    """Writes demo leads with their stage history (SPEC §14): recorded, called a few days later,
    often met, then won or lost; an open lead's next step is in the coming days or, for a stalled
    one, already past."""

    LOST_REASONS = (
        "Выбрали другого подрядчика",
        "Нет бюджета до следующего года",
        "Обслуживаются у вышестоящей организации",
        "Не дозвонились за месяц",
        "Руководитель против смены подрядчика",
    )

    def __init__(self, referrals: BulkTable, stages: BulkTable, company: Company, draws) -> None:
        self.referrals, self.stages, self.company, self.draws = referrals, stages, company, draws

    def add(
        self,
        referrer, recorded_by, organisation, inn, contact, day,
        *, status, client_id=None, closed_on=None,
    ) -> None:  # fmt: skip
        draws, company = self.draws, self.company
        pk = company.new_id(Referral)
        closed = status in (ReferralStatus.WON, ReferralStatus.LOST)
        last = closed_on if closed else company.today
        path = [ReferralStatus.NEW]
        if status != ReferralStatus.NEW and (status != ReferralStatus.LOST or draws.random() < 0.7):
            path.append(ReferralStatus.CONTACTED)
        if status == ReferralStatus.MEETING or (
            path[-1] == ReferralStatus.CONTACTED
            and draws.random() < (0.75 if status == ReferralStatus.WON else 0.3)
        ):
            path.append(ReferralStatus.MEETING)
        if closed:
            path.append(status)
        next_step = None
        if not closed:
            stalled = draws.random() < 0.2
            next_step = (
                company.today - draws.days(1, 15) if stalled else company.today + draws.days(0, 7)
            )
        self.referrals.add(
            {
                "id": pk,
                "referrer_id": referrer,
                "recorded_by_id": recorded_by,
                "owner_id": recorded_by,
                "organisation": organisation,
                "inn": inn,
                "contact": contact,
                "comment": "",
                "status": status,
                "next_step_on": next_step,
                "lost_reason": draws.choice(self.LOST_REASONS)
                if status == ReferralStatus.LOST
                else "",
                "closed_on": closed_on if closed else None,
                "client_id": client_id,
                "created_at": company.at(day, 12),
            }
        )
        # The steps spread evenly from the day the lead was recorded to the day it closed (or
        # today, for an open lead).
        span, steps = max(0, (last - day).days), max(1, len(path) - 1)
        for step, (before, after) in enumerate(zip(["", *path[:-1]], path, strict=True)):
            when = day + datetime.timedelta(days=span * step // steps)
            self.stages.add(
                {
                    "referral_id": pk,
                    "from_status": before,
                    "to_status": after,
                    "changed_by_id": recorded_by,
                    "changed_at": company.at(min(when, company.today), 12 + step),
                    "note": "",
                }
            )
