"""Client requests and refusals (SPEC §3.4): the SLA, every transition with who may make it, and
the refusal flow that never lets a client manager refuse alone."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from clients.models import ClientRequest, RequestStatus, RequestUrgency, Task, TaskKind
from clients.services import (
    client_request_approve_refusal,
    client_request_create,
    client_request_refuse,
    client_request_reject_refusal,
    client_request_resolve,
    client_request_take,
    refusal_approver,
    request_due_at,
)
from core.errors import Conflict
from staff.models import Role
from tests.factories import ClientFactory, UserFactory

KRASNOYARSK = zoneinfo.ZoneInfo("Asia/Krasnoyarsk")
# Friday 20 November 2026, 15:00 in Krasnoyarsk (08:00 UTC).
FRIDAY_3PM = datetime.datetime(2026, 11, 20, 15, 0, tzinfo=KRASNOYARSK)


pytestmark = pytest.mark.frozen_clock("2026-11-20 08:00:00")


@pytest.fixture
def client(manager):
    return ClientFactory(manager=manager)


@pytest.fixture
def request_(manager, client):
    return client_request_create(actor=manager, client=client, topic="Не сходится отчёт 6-НДФЛ")


def sla(opened_at, urgency):
    return request_due_at(opened_at, urgency, urgent_hours=4, normal_working_days=2)


def local(*args):
    return datetime.datetime(*args, tzinfo=KRASNOYARSK)


def open_approval_tasks(client):
    return Task.objects.filter(client=client, kind=TaskKind.REFUSAL_APPROVAL, done_at__isnull=True)


# --- the SLA --------------------------------------------------------------------------------


def test_urgent_request_is_due_four_hours_after_opening():
    assert sla(FRIDAY_3PM, RequestUrgency.URGENT) == local(2026, 11, 20, 19, 0)


def test_normal_request_opened_friday_afternoon_is_due_tuesday_same_time():
    assert sla(FRIDAY_3PM, RequestUrgency.NORMAL) == local(2026, 11, 24, 15, 0)


def test_normal_request_opened_midweek_is_due_two_days_later():
    assert sla(local(2026, 11, 17, 9, 30), RequestUrgency.NORMAL) == local(2026, 11, 19, 9, 30)


def test_normal_request_opened_on_saturday_is_due_tuesday():
    assert sla(local(2026, 11, 21, 11, 0), RequestUrgency.NORMAL) == local(2026, 11, 24, 11, 0)


def test_normal_request_opened_thursday_is_due_monday():
    assert sla(local(2026, 11, 19, 10, 0), RequestUrgency.NORMAL) == local(2026, 11, 23, 10, 0)


def test_sla_counts_days_in_local_time_not_utc():
    # 23:30 on Friday in Krasnoyarsk is still Friday afternoon in UTC: the local day counts.
    opened = local(2026, 11, 20, 23, 30)
    assert opened.astimezone(datetime.UTC).day == 20
    assert sla(opened, RequestUrgency.NORMAL) == local(2026, 11, 24, 23, 30)
    # 01:00 on Saturday local is Friday 18:00 UTC; the request still waits for Monday and Tuesday.
    opened = local(2026, 11, 21, 1, 0)
    assert sla(opened.astimezone(datetime.UTC), RequestUrgency.NORMAL) == local(2026, 11, 24, 1, 0)


def test_sla_working_days_are_configurable():
    due = request_due_at(FRIDAY_3PM, RequestUrgency.NORMAL, urgent_hours=4, normal_working_days=5)
    assert due == local(2026, 11, 27, 15, 0)


# --- create ---------------------------------------------------------------------------------


def test_manager_logs_a_normal_request_due_in_two_working_days(manager, client):
    request = client_request_create(
        actor=manager, client=client, topic="  Обновить конфигурацию  ", description=" срочно "
    )
    request.refresh_from_db()
    assert request.status == RequestStatus.OPEN
    assert request.topic == "Обновить конфигурацию"
    assert request.description == "срочно"
    assert request.logged_by == manager
    assert request.opened_at == FRIDAY_3PM
    assert request.due_at == local(2026, 11, 24, 15, 0)
    assert [(h.history_type, h.history_user) for h in request.history.all()] == [("+", manager)]


def test_urgent_request_uses_the_urgent_sla_from_settings(settings, manager, client):
    settings.REQUEST_SLA_URGENT_HOURS = 2
    request = client_request_create(
        actor=manager, client=client, topic="Не запускается 1С", urgency=RequestUrgency.URGENT
    )
    assert request.due_at == local(2026, 11, 20, 17, 0)


def test_request_opened_earlier_counts_from_its_opening(manager, client):
    request = client_request_create(
        actor=manager, client=client, topic="Звонок вчера", opened_at=local(2026, 11, 19, 16, 0)
    )
    assert request.due_at == local(2026, 11, 23, 16, 0)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"topic": "   "}, "topic"),
        ({"urgency": "whenever"}, "urgency"),
        ({"opened_at": datetime.datetime(2026, 11, 21, 8, 0, tzinfo=datetime.UTC)}, "opened_at"),
    ],
)
def test_bad_request_names_the_field_and_writes_nothing(manager, client, changes, field):
    values = {"actor": manager, "client": client, "topic": "Тема", **changes}
    with pytest.raises(ValidationError) as error:
        client_request_create(**values)
    assert list(error.value.message_dict) == [field]
    assert ClientRequest.objects.count() == 0
    assert ClientRequest.history.count() == 0


@pytest.mark.parametrize("who", ["mentor", "director"])
def test_mentor_and_director_log_requests_for_the_group_client(request, who, client):
    actor = request.getfixturevalue(who)
    created = client_request_create(actor=actor, client=client, topic="Тема")
    assert created.logged_by == actor


@pytest.mark.parametrize("who", ["colleague", "other_mentor", "outsider"])
def test_people_outside_the_client_cannot_log_its_requests(request, who, client):
    with pytest.raises(PermissionDenied):
        client_request_create(actor=request.getfixturevalue(who), client=client, topic="Тема")
    assert ClientRequest.objects.count() == 0


# --- take and resolve -----------------------------------------------------------------------


def test_manager_takes_an_open_request(manager, request_):
    taken = client_request_take(actor=manager, request=request_)
    assert taken.status == RequestStatus.IN_PROGRESS
    assert ClientRequest.objects.get().status == RequestStatus.IN_PROGRESS
    last = request_.history.first()
    assert (last.history_type, last.history_user, last.status) == (
        "~",
        manager,
        RequestStatus.IN_PROGRESS,
    )


def test_taking_a_request_twice_is_a_conflict(manager, mentor, request_):
    stale = ClientRequest.objects.get(pk=request_.pk)
    client_request_take(actor=manager, request=request_)
    with pytest.raises(Conflict):
        client_request_take(actor=mentor, request=stale)
    assert request_.history.count() == 2


@pytest.mark.parametrize("take_first", [False, True])
def test_manager_resolves_an_open_or_taken_request(manager, request_, take_first):
    if take_first:
        client_request_take(actor=manager, request=request_)
    resolved = client_request_resolve(actor=manager, request=request_)
    assert resolved.status == RequestStatus.RESOLVED
    assert resolved.resolved_at == FRIDAY_3PM


def test_a_resolved_request_cannot_be_resolved_or_refused_again(manager, request_):
    client_request_resolve(actor=manager, request=request_)
    with pytest.raises(Conflict):
        client_request_resolve(actor=manager, request=request_)
    with pytest.raises(Conflict):
        client_request_refuse(actor=manager, request=request_, reason="Не наш профиль")
    assert ClientRequest.objects.get().status == RequestStatus.RESOLVED
    assert Task.objects.count() == 0


@pytest.mark.parametrize("who", ["colleague", "other_mentor", "outsider"])
def test_people_outside_the_client_cannot_take_resolve_or_refuse(request, who, request_):
    actor = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied):
        client_request_take(actor=actor, request=request_)
    with pytest.raises(PermissionDenied):
        client_request_resolve(actor=actor, request=request_)
    with pytest.raises(PermissionDenied):
        client_request_refuse(actor=actor, request=request_, reason="Нет")
    assert ClientRequest.objects.get().status == RequestStatus.OPEN
    assert Task.objects.count() == 0


# --- refusal --------------------------------------------------------------------------------


def test_refusing_asks_the_mentor_and_opens_an_approval_task(manager, mentor, client, request_):
    pending = client_request_refuse(actor=manager, request=request_, reason="  Доработка 1С  ")
    assert pending.status == RequestStatus.REFUSAL_PENDING
    assert pending.refusal_reason == "Доработка 1С"
    assert pending.refusal_requested_by == manager
    assert pending.refusal_approved_by is None
    task = Task.objects.get()
    assert (task.assignee, task.client, task.kind, task.due_on, task.title) == (
        mentor,
        client,
        TaskKind.REFUSAL_APPROVAL,
        datetime.date(2026, 11, 20),
        "Не сходится отчёт 6-НДФЛ",
    )
    assert task.created_by is None
    assert task.done_at is None


@pytest.mark.parametrize("take_first", [False, True])
def test_refusal_can_be_asked_from_open_or_in_progress(manager, request_, take_first):
    if take_first:
        client_request_take(actor=manager, request=request_)
    pending = client_request_refuse(actor=manager, request=request_, reason="Нет")
    assert pending.status == RequestStatus.REFUSAL_PENDING


def test_refusal_without_a_reason_names_the_field_and_writes_nothing(manager, request_):
    with pytest.raises(ValidationError) as error:
        client_request_refuse(actor=manager, request=request_, reason="   ")
    assert list(error.value.message_dict) == ["reason"]
    request_.refresh_from_db()
    assert request_.status == RequestStatus.OPEN
    assert request_.history.count() == 1
    assert Task.objects.count() == 0


def test_without_a_mentor_the_first_active_director_approves(db):
    UserFactory(username="old-director", role=Role.DIRECTOR, is_active=False)
    director = UserFactory(username="director-a", role=Role.DIRECTOR)
    UserFactory(username="director-b", role=Role.DIRECTOR)
    loner = UserFactory(username="loner", role=Role.CLIENT_MANAGER, mentor=None)
    client = ClientFactory(manager=loner)
    request = client_request_create(actor=loner, client=client, topic="Тема")
    client_request_refuse(actor=loner, request=request, reason="Нет")
    assert Task.objects.get().assignee == director


def test_a_mentor_refusing_for_the_group_needs_the_director(mentor, director, client, request_):
    client_request_refuse(actor=mentor, request=request_, reason="Нет")
    assert Task.objects.get().assignee == director
    with pytest.raises(PermissionDenied):
        client_request_approve_refusal(actor=mentor, request=request_)
    approved = client_request_approve_refusal(actor=director, request=request_)
    assert approved.status == RequestStatus.REFUSED


def test_refusal_approver_is_the_managers_mentor(manager, mentor, director, client):
    assert refusal_approver(client, requested_by=manager) == mentor
    assert refusal_approver(client, requested_by=mentor) == director


def test_mentor_approves_the_refusal_and_the_task_closes(manager, mentor, client, request_):
    client_request_refuse(actor=manager, request=request_, reason="Нет")
    refused = client_request_approve_refusal(actor=mentor, request=request_)
    assert refused.status == RequestStatus.REFUSED
    assert refused.refusal_approved_by == mentor
    assert refused.refusal_requested_by == manager
    assert open_approval_tasks(client).count() == 0
    assert Task.objects.get().done_at == timezone.now()
    history = list(request_.history.order_by("history_date", "history_id"))
    assert [(h.status, h.history_user) for h in history] == [
        (RequestStatus.OPEN, manager),
        (RequestStatus.REFUSAL_PENDING, manager),
        (RequestStatus.REFUSED, mentor),
    ]


def test_director_approves_any_refusal(manager, director, client, request_):
    client_request_refuse(actor=manager, request=request_, reason="Нет")
    refused = client_request_approve_refusal(actor=director, request=request_)
    assert (refused.status, refused.refusal_approved_by) == (RequestStatus.REFUSED, director)
    assert open_approval_tasks(client).count() == 0


@pytest.mark.parametrize("who", ["manager", "colleague", "other_mentor", "outsider"])
def test_only_the_mentor_or_director_decide_on_a_refusal(request, who, manager, client, request_):
    client_request_refuse(actor=manager, request=request_, reason="Нет")
    actor = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied):
        client_request_approve_refusal(actor=actor, request=request_)
    with pytest.raises(PermissionDenied):
        client_request_reject_refusal(actor=actor, request=request_)
    request_.refresh_from_db()
    assert request_.status == RequestStatus.REFUSAL_PENDING
    assert request_.refusal_approved_by is None
    assert open_approval_tasks(client).count() == 1


def test_a_client_manager_can_never_refuse_alone(manager, request_):
    client_request_refuse(actor=manager, request=request_, reason="Нет")
    with pytest.raises(PermissionDenied):
        client_request_approve_refusal(actor=manager, request=request_)
    assert ClientRequest.objects.filter(status=RequestStatus.REFUSED).count() == 0


def test_mentor_rejects_the_refusal_and_the_request_goes_back_to_work(
    manager, mentor, client, request_
):
    client_request_refuse(actor=manager, request=request_, reason="Нет")
    back = client_request_reject_refusal(actor=mentor, request=request_, comment="Помогите клиенту")
    assert back.status == RequestStatus.IN_PROGRESS
    assert back.refusal_requested_by is None
    assert back.refusal_reason == ""
    assert back.refusal_approved_by is None
    assert open_approval_tasks(client).count() == 0
    last = request_.history.first()
    assert (last.history_user, last.status) == (mentor, RequestStatus.IN_PROGRESS)
    # The request may be refused again later, and then needs a new approval.
    client_request_refuse(actor=manager, request=back, reason="Всё-таки нет")
    assert open_approval_tasks(client).get().assignee == mentor


def test_approving_twice_is_a_conflict(manager, mentor, director, request_):
    client_request_refuse(actor=manager, request=request_, reason="Нет")
    stale = ClientRequest.objects.get(pk=request_.pk)
    client_request_approve_refusal(actor=mentor, request=request_)
    with pytest.raises(Conflict):
        client_request_approve_refusal(actor=director, request=stale)
    with pytest.raises(Conflict):
        client_request_reject_refusal(actor=director, request=stale)
    assert ClientRequest.objects.get().refusal_approved_by == mentor


def test_a_request_not_pending_cannot_be_approved(mentor, request_):
    with pytest.raises(Conflict):
        client_request_approve_refusal(actor=mentor, request=request_)
    assert ClientRequest.objects.get().status == RequestStatus.OPEN


def test_the_approval_task_stays_open_while_another_refusal_of_the_client_waits(
    manager, mentor, client, request_
):
    second = client_request_create(actor=manager, client=client, topic="Вторая заявка")
    client_request_refuse(actor=manager, request=request_, reason="Нет")
    client_request_refuse(actor=manager, request=second, reason="Тоже нет")
    assert open_approval_tasks(client).count() == 1
    client_request_approve_refusal(actor=mentor, request=request_)
    assert open_approval_tasks(client).count() == 1
    client_request_reject_refusal(actor=mentor, request=second)
    assert open_approval_tasks(client).count() == 0
