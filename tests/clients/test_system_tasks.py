"""System tasks of the nightly job (SPEC §3.4, §3.5, §5): each creator writes exactly the expected
tasks, and a second run writes none. Also the cadence compliance control KPI."""

from __future__ import annotations

import datetime
import zoneinfo
from decimal import Decimal

from clients.models import (
    ClientRequest,
    ClientStatus,
    ContractKind,
    InteractionOutcome,
    RequestStatus,
    Task,
    TaskKind,
)
from clients.selectors import cadence_compliance_by_manager, contact_cadence_cutoff
from clients.services import tasks_create_follow_ups, tasks_create_overdue_requests
from crm.nightly import nightly_chain_task
from retention.models import CaseStatus
from retention.services import tasks_create_free_month_ending
from staff.models import Role
from tests.factories import (
    ClientFactory,
    ContractFactory,
    InteractionFactory,
    LostCaseFactory,
    UserFactory,
)

KRASNOYARSK = zoneinfo.ZoneInfo("Asia/Krasnoyarsk")
TODAY = datetime.date(2026, 11, 20)
NOON = datetime.datetime(2026, 11, 20, 12, 0, tzinfo=KRASNOYARSK)


def local(*args):
    return datetime.datetime(*args, tzinfo=KRASNOYARSK)


def active_client(manager, **kwargs):
    return ClientFactory(manager=manager, status=ClientStatus.ACTIVE, **kwargs)


def reached(client, when, outcome=InteractionOutcome.REACHED):
    return InteractionFactory(client=client, occurred_at=when, outcome=outcome)


def system_tasks(kind):
    return set(
        Task.objects.filter(kind=kind, created_by__isnull=True).values_list(
            "client_id", "assignee_id", "due_on", "title"
        )
    )


# --- follow-ups (SPEC §3.5) -----------------------------------------------------------------


def test_cadence_cutoff_is_local_midnight_thirty_days_back(settings):
    settings.CONTACT_CADENCE_DAYS = 30
    assert contact_cadence_cutoff(TODAY) == local(2026, 10, 21, 0, 0)


def test_follow_ups_go_to_active_clients_not_reached_within_the_cadence(manager, colleague):
    in_time = active_client(manager)
    reached(in_time, local(2026, 10, 21, 9, 0))  # 30 days ago: still in time
    late = active_client(manager)
    reached(late, local(2026, 10, 20, 18, 0))  # 31 days ago
    never = active_client(colleague)
    only_unanswered = active_client(manager)
    reached(only_unanswered, local(2026, 11, 19, 10, 0), InteractionOutcome.NO_ANSWER)
    reached(only_unanswered, local(2026, 9, 1, 10, 0))
    ClientFactory(manager=manager, status=ClientStatus.PROSPECT)
    ClientFactory(manager=manager, status=ClientStatus.LOST)

    assert tasks_create_follow_ups(today=TODAY) == 3

    assert system_tasks(TaskKind.FOLLOW_UP) == {
        (late.pk, manager.pk, TODAY, ""),
        (never.pk, colleague.pk, TODAY, ""),
        (only_unanswered.pk, manager.pk, TODAY, ""),
    }
    assert Task.objects.filter(done_at__isnull=False).count() == 0


def test_follow_ups_are_idempotent(manager):
    active_client(manager)
    active_client(manager)
    assert tasks_create_follow_ups(today=TODAY) == 2
    assert tasks_create_follow_ups(today=TODAY) == 0
    assert tasks_create_follow_ups(today=TODAY + datetime.timedelta(days=1)) == 0
    assert Task.objects.count() == 2


def test_a_client_with_an_open_follow_up_gets_no_second_one(manager):
    client = active_client(manager)
    Task.objects.create(
        assignee=manager,
        client=client,
        kind=TaskKind.FOLLOW_UP,
        due_on=TODAY - datetime.timedelta(days=3),
    )
    assert tasks_create_follow_ups(today=TODAY) == 0
    assert Task.objects.count() == 1


def test_follow_ups_respect_the_configured_cadence(settings, manager):
    settings.CONTACT_CADENCE_DAYS = 7
    client = active_client(manager)
    reached(client, local(2026, 11, 12, 10, 0))  # 8 days ago
    assert tasks_create_follow_ups(today=TODAY) == 1


def test_a_dismissed_managers_clients_get_no_follow_up(db):
    gone = UserFactory(username="gone", role=Role.CLIENT_MANAGER, is_active=False)
    active_client(gone)
    assert tasks_create_follow_ups(today=TODAY) == 0


def test_follow_ups_use_a_fixed_number_of_queries(manager, django_assert_num_queries):
    for _ in range(5):
        active_client(manager)
    with django_assert_num_queries(2):  # find the clients, insert the tasks
        assert tasks_create_follow_ups(today=TODAY) == 5


def test_the_nightly_chain_gives_the_follow_up(manager):
    client = active_client(manager)
    ContractFactory(client=client, starts_on=datetime.date(2024, 1, 1))

    done = nightly_chain_task.delay(today=TODAY.isoformat(), now=NOON.isoformat()).get()

    assert done["follow_ups"] == 1
    assert Task.objects.get().due_on == TODAY


# --- cadence compliance (SPEC §3.5 control KPI) ---------------------------------------------


def test_cadence_compliance_counts_active_clients_reached_in_time(
    manager, colleague, django_assert_num_queries
):
    first, second, late = active_client(manager), active_client(manager), active_client(manager)
    reached(first, local(2026, 11, 19, 10, 0))
    reached(second, local(2026, 10, 21, 0, 0))
    reached(late, local(2026, 10, 20, 23, 59))
    active_client(colleague)
    prospect = ClientFactory(manager=manager, status=ClientStatus.PROSPECT)
    reached(prospect, local(2026, 11, 19, 10, 0))

    with django_assert_num_queries(1):
        compliance = cadence_compliance_by_manager(today=TODAY)

    assert compliance == {manager.pk: (2, 3), colleague.pk: (0, 1)}


def test_cadence_compliance_is_empty_without_active_clients(db):
    assert cadence_compliance_by_manager(today=TODAY) == {}


# --- overdue requests (SPEC §3.4) -----------------------------------------------------------


def make_request(client, *, topic, due_at, status=RequestStatus.OPEN):
    opened_at = due_at - datetime.timedelta(hours=4)
    return ClientRequest.objects.create(
        client=client,
        logged_by=client.manager,
        topic=topic,
        opened_at=opened_at,
        due_at=due_at,
        status=status,
    )


def test_overdue_requests_give_the_manager_one_task_per_client(manager, colleague):
    late = active_client(manager)
    make_request(late, topic="Вторая", due_at=local(2026, 11, 20, 11, 0))
    make_request(
        late, topic="Первая", due_at=local(2026, 11, 19, 9, 0), status=RequestStatus.IN_PROGRESS
    )
    waiting_refusal = active_client(manager)
    make_request(
        waiting_refusal,
        topic="Отказ",
        due_at=local(2026, 11, 18, 9, 0),
        status=RequestStatus.REFUSAL_PENDING,
    )
    not_yet = active_client(colleague)
    make_request(not_yet, topic="Позже", due_at=local(2026, 11, 20, 12, 30))
    done = active_client(colleague)
    make_request(
        done, topic="Решено", due_at=local(2026, 11, 18, 9, 0), status=RequestStatus.RESOLVED
    )
    colleague_late = active_client(colleague)
    make_request(colleague_late, topic="Просрочено", due_at=local(2026, 11, 20, 11, 59))

    assert tasks_create_overdue_requests(now=NOON) == 2

    assert system_tasks(TaskKind.REQUEST_OVERDUE) == {
        (late.pk, manager.pk, TODAY, "Первая"),
        (colleague_late.pk, colleague.pk, TODAY, "Просрочено"),
    }


def test_overdue_request_tasks_are_idempotent(manager):
    client = active_client(manager)
    make_request(client, topic="Тема", due_at=local(2026, 11, 19, 9, 0))
    assert tasks_create_overdue_requests(now=NOON) == 1
    assert tasks_create_overdue_requests(now=NOON) == 0
    # A later run the same day (a re-run of the night) writes none either.
    assert tasks_create_overdue_requests(now=NOON + datetime.timedelta(hours=3)) == 0
    assert Task.objects.count() == 1


def test_overdue_request_tasks_use_a_fixed_number_of_queries(manager, django_assert_num_queries):
    for n in range(4):
        make_request(active_client(manager), topic=f"Тема {n}", due_at=local(2026, 11, 19, 9, 0))
    with django_assert_num_queries(2):
        assert tasks_create_overdue_requests(now=NOON) == 4


# --- free month ending (SPEC §3.3, §5) ------------------------------------------------------


def free_month_case(return_manager, *, ends_on, status=CaseStatus.FREE_MONTH):
    case = LostCaseFactory(lost_on=datetime.date(2026, 10, 1))
    contract = ContractFactory(
        client=case.client,
        kind=ContractKind.FREE_MONTH,
        monthly_fee=Decimal("0"),
        starts_on=ends_on - datetime.timedelta(days=29),
        ends_on=ends_on,
    )
    case.status = status
    if status == CaseStatus.RETURNED:
        case.closed_on = case.returned_on = ends_on
    case.return_manager = return_manager
    case.free_month_contract = contract
    case.save()
    return case


def test_free_month_ending_within_three_days_gives_the_return_manager_a_task(
    return_manager, second_return_manager
):
    ends_today = free_month_case(return_manager, ends_on=TODAY)
    ends_in_three = free_month_case(second_return_manager, ends_on=datetime.date(2026, 11, 23))
    free_month_case(return_manager, ends_on=datetime.date(2026, 11, 24))
    free_month_case(return_manager, ends_on=datetime.date(2026, 11, 19))
    free_month_case(return_manager, ends_on=datetime.date(2026, 11, 21), status=CaseStatus.RETURNED)

    assert tasks_create_free_month_ending(today=TODAY) == 2

    assert system_tasks(TaskKind.FREE_MONTH_ENDING) == {
        (ends_today.client_id, return_manager.pk, TODAY, ""),
        (ends_in_three.client_id, second_return_manager.pk, datetime.date(2026, 11, 23), ""),
    }


def test_free_month_ending_task_is_written_once_per_free_month(return_manager):
    free_month_case(return_manager, ends_on=datetime.date(2026, 11, 22))
    assert tasks_create_free_month_ending(today=TODAY) == 1
    assert tasks_create_free_month_ending(today=TODAY) == 0
    # Done by the return manager: the next nights do not nag again for the same free month.
    Task.objects.update(done_at=NOON)
    assert tasks_create_free_month_ending(today=datetime.date(2026, 11, 21)) == 0
    assert Task.objects.count() == 1
