"""Writing the simulated company: its rows, their history, then its day-to-day activity.

Rows go to the database in bulk (``demo.tables``: PostgreSQL ``COPY``, batched inserts elsewhere)
with the ids the simulation assigned, bypassing the services: the history is already consistent.
History rows (django-simple-history) are written for the audited models with the dates the
changes happened, so client timelines read as if the company had used the CRM all along.
"""

from __future__ import annotations

import time

from clients.models import (
    CONTACT_SIGNAL_FIELDS,
    Client,
    ClientAssignment,
    ClientStatus,
    Contract,
    ContractKind,
)
from core.dates import ONE_DAY
from demo import institutions
from demo.activity import Activity
from demo.logins import demo_password_hash
from demo.notifications import inboxes_write
from demo.simulation import ASSIGNED_IDS, Company
from demo.tables import BulkTables, reset_sequences
from retention.models import CaseStatus, LostCase
from staff.models import User


def company_write(company: Company, *, timings: dict[str, float]) -> dict[str, int]:
    """Write everything, step by step (each step's rows flushed before the next, so foreign keys
    find their rows); returns the rows written per model label, and adds each step's seconds to
    ``timings``."""
    tables = BulkTables()
    activity = Activity(company, tables)
    steps = (
        ("staff", lambda: _staff(company, tables)),
        ("clients", lambda: _clients(company, tables)),
        ("contracts", lambda: _contracts(company, tables)),
        ("cases", lambda: _cases(company, tables)),
        ("contacts", activity.contacts),
        ("interactions", activity.interactions),
        ("referrals and tasks", activity.referrals_and_tasks),
        ("inboxes", lambda: inboxes_write(company, tables, activity)),
    )
    for name, step in steps:
        mark = time.perf_counter()
        step()
        tables.flush()
        timings[name] = time.perf_counter() - mark
    reset_sequences(ASSIGNED_IDS)
    return dict(tables.counts)


def _staff(company: Company, tables: BulkTables) -> None:
    password = demo_password_hash()
    users = tables.table(User)
    history = tables.history(User)
    director = company.director.id
    for person in company.people:
        surname, first, _patronymic = person.full_name.split(" ")
        row = {
            "id": person.id,
            "password": password,
            "last_login": None,
            "is_superuser": False,
            "username": person.username,
            "first_name": first,
            "last_name": surname,
            "email": f"{person.username}@example.org",
            "is_staff": False,
            "is_active": person.dismissed_on is None,
            "date_joined": company.at(person.hired_on, 9),
            "full_name": person.full_name,
            "phone": institutions.city_phone(company.draws),
            "role": person.role,
            "mentor_id": person.mentor.id if person.mentor else None,
            "hired_on": person.hired_on,
            "ramp_until": person.ramp_until,
            "capacity": person.capacity,
            "dismissed_on": person.dismissed_on,
        }
        users.add(row)
        history.record(row, "+", company.at(person.hired_on, 9), director, "сотрудник принят")
        if person.dismissed_on is not None:
            history.record(
                {**row, "is_active": False},
                "~",
                company.at(person.dismissed_on, 18),
                director,
                "уволен",
            )


def _clients(company: Company, tables: BulkTables) -> None:
    """Clients and their assignments, with the history of each reassignment."""
    clients = tables.table(Client)
    history = tables.history(Client)
    assignments = tables.table(ClientAssignment)
    assignment_history = tables.history(ClientAssignment)
    for client in company.clients:
        created = company.at(client.created, 10)
        last_change = created
        for row in client.assignments[1:]:
            last_change = max(last_change, company.at(row.entered, 10))
        final = {
            "id": client.id,
            "name": client.name,
            "inn": client.inn,
            "kpp": client.kpp,
            "kind": client.kind,
            "region": client.region,
            "city": client.city,
            "parent_id": client.parent,
            "acquisition_channel": client.channel,
            "referred_by_id": client.referred_by,
            "manager_id": client.manager,
            "status": client.status,
            "created_at": created,
            "updated_at": last_change,
            # Derived from the interactions once they are written (contact_signals_refresh).
            **dict.fromkeys(CONTACT_SIGNAL_FIELDS),
        }
        clients.add(final)
        first = client.assignments[0]
        history.record(
            {**final, "manager_id": first.manager, "status": ClientStatus.PROSPECT, "parent_id": None, "updated_at": created},
            "+", created, first.actor, "клиент создан",
        )  # fmt: skip
        for index, assignment in enumerate(client.assignments):
            entered_at = created if index == 0 else company.at(assignment.entered, 10)
            row = {
                "id": assignment.id,
                "client_id": client.id,
                "manager_id": assignment.manager,
                "starts_on": assignment.starts_on,
                "ends_on": assignment.ends_on,
                "reason": assignment.reason,
                "created_by_id": assignment.actor,
                "created_at": entered_at,
            }
            assignments.add(row)
            assignment_history.record(
                {**row, "ends_on": None}, "+", entered_at, assignment.actor, "назначен менеджер"
            )
            if assignment.ends_on is not None:
                following = client.assignments[index + 1]
                changed_at = company.at(following.entered, 10)
                new_name = company.by_id[following.manager].full_name
                assignment_history.record(
                    row, "~", changed_at, following.actor, f"передан: {new_name}"
                )
                history.record(
                    {**final, "manager_id": following.manager, "status": ClientStatus.ACTIVE, "updated_at": changed_at},
                    "~", changed_at, following.actor, f"менеджер изменён на {new_name}",
                )  # fmt: skip


def _contracts(company: Company, tables: BulkTables) -> None:
    contracts = tables.table(Contract)
    history = tables.history(Contract)
    for contract in company.contracts:
        client = company.client_by_id[contract.client]
        entered = company.at(contract.entered, 11)
        row = {
            "id": contract.id,
            "client_id": contract.client,
            "number": contract.number,
            "kind": contract.kind,
            "starts_on": contract.starts_on,
            "ends_on": contract.ends_on,
            "monthly_fee": contract.fee,
            "termination_reason": contract.reason,
            "comment": contract.comment,
            "created_at": entered,
        }
        contracts.add(row)
        actor = client.manager_on(contract.entered)
        if contract.kind == ContractKind.FREE_MONTH:
            case = next(c for c in client.cases if c.free is contract)
            history.record(row, "+", entered, case.return_manager, "бесплатный месяц")
            continue
        if contract.ended_entered is None:
            history.record(row, "+", entered, actor, "договор добавлен")
            continue
        history.record(
            {**row, "ends_on": None, "termination_reason": "", "comment": ""},
            "+",
            entered,
            actor,
            "договор добавлен",
        )
        ended = company.at(contract.ended_entered, 15)
        why = "договор расторгнут" if contract.reason else "смена абонентской платы"
        history.record(
            row, "~", max(ended, entered), client.manager_on(contract.ended_entered), why
        )


def _agreement(case) -> dict:
    """The agreed-return columns of ``case`` (SPEC §3.3); empty without an agreement."""
    agreed = case is not None and case.agreed_on is not None
    return {
        "agreed_on": case.agreed_on if agreed else None,
        "agreed_by_id": case.return_manager if agreed else None,
        "agreed_starts_on": case.planned_return if agreed else None,
        "agreed_fee": case.fee if agreed else None,
        "agreed_manager_id": case.agreed_manager if agreed else None,
        "agreed_number": "",
        "agreed_failure": "",
    }


def _cases(company: Company, tables: BulkTables) -> None:
    cases = tables.table(LostCase)
    history = tables.history(LostCase)
    for case in company.cases:
        created = company.at(case.lost_on - ONE_DAY, 17)
        row = {
            "id": case.id,
            "client_id": case.client,
            "lost_on": case.lost_on,
            "lost_by_id": case.lost_by,
            "reason": case.reason,
            "lost_fee": case.fee,
            "status": case.status,
            "return_manager_id": case.return_manager,
            "claimed_at": case.claimed_at,
            "free_month_contract_id": case.free.id if case.free else None,
            "returned_on": case.returned_on if case.status == CaseStatus.RETURNED else None,
            "new_manager_id": case.new_manager,
            "closed_on": case.closed_on,
            "decline_reason": case.decline_reason,
            "created_at": created,
            **_agreement(case),
        }
        cases.add(row)
        blank = {**row, "status": CaseStatus.OPEN, "return_manager_id": None, "claimed_at": None,
                 "free_month_contract_id": None, "returned_on": None, "new_manager_id": None,
                 "closed_on": None, "decline_reason": "", **_agreement(None)}  # fmt: skip
        history.record(blank, "+", created, case.lost_by, "клиент потерян")
        state = blank
        if case.claimed_at is not None:
            state = {
                **state,
                "status": CaseStatus.CLAIMED,
                "return_manager_id": case.return_manager,
                "claimed_at": case.claimed_at,
            }
            history.record(state, "~", case.claimed_at, case.return_manager, "взят в работу")
        if case.free is not None:
            state = {
                **state,
                "status": CaseStatus.FREE_MONTH,
                "free_month_contract_id": case.free.id,
            }
            history.record(
                state,
                "~",
                company.at(case.free.starts_on, 10),
                case.return_manager,
                "начат бесплатный месяц",
            )
        if case.agreed_on is not None:
            history.record(
                row, "~", company.at(case.agreed_on, 11), case.return_manager, "возврат согласован"
            )
        if case.status in (CaseStatus.RETURNED, CaseStatus.DECLINED):
            why = "клиент возвращён" if case.status == CaseStatus.RETURNED else "отказ от возврата"
            history.record(row, "~", company.at(case.closed_on, 12), case.return_manager, why)
