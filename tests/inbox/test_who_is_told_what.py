"""SPEC §11 "who is told what", one test per row that exists today, each checking the words the
recipient reads (in Russian), the link and the task that comes with it; and the rollback row:
work that does not happen sends nothing."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from freezegun import freeze_time

from clients.models import AssignmentReason, RequestStatus, Task, TaskKind
from clients.services import (
    client_reassign,
    client_request_approve_refusal,
    client_request_create,
    client_request_refuse,
    client_request_reject_refusal,
)
from core.working_days import add_working_days
from inbox.models import Notification, NotificationKind
from inbox.texts import notification_text
from retention.services import (
    lost_case_claim,
    lost_case_return,
    lost_case_start_free_month,
    tasks_create_free_month_ending,
)
from team.services import staff_dismiss
from tests.factories import ClientFactory, ContractFactory, LostCaseFactory

TODAY = datetime.date(2026, 12, 4)  # a Friday
WELCOME_DUE = datetime.date(2026, 12, 8)  # two working days on: Monday, Tuesday


@pytest.fixture(autouse=True)
def _frozen_clock():
    with freeze_time("2026-12-04 03:00:00"):  # 10:00 in Krasnoyarsk
        yield


def read(notification) -> str:
    with translation.override("ru"):
        return notification_text(notification)


def only_notification(recipient) -> Notification:
    (notification,) = Notification.objects.filter(recipient=recipient)
    return notification


def test_a_reassigned_client_reaches_the_new_manager_with_a_welcome_call(
    director, manager, colleague
):
    school = ClientFactory(name="МБОУ СОШ № 12", manager=manager)
    follow_up = Task.objects.create(
        assignee=manager, client=school, kind=TaskKind.FOLLOW_UP, due_on=TODAY
    )

    client_reassign(actor=director, client=school, manager=colleague)

    notice = only_notification(colleague)
    assert (notice.kind, notice.client, notice.url, notice.read_at) == (
        NotificationKind.CLIENT_ASSIGNED,
        school,
        f"/clients/{school.pk}/",
        None,
    )
    assert read(notice) == (
        "Клиент «МБОУ СОШ № 12» теперь ваш (раньше вёл: Клиент-менеджер Анна). "
        "Сделайте приветственный звонок до 08.12.2026."
    )
    welcome = Task.objects.get(client=school, kind=TaskKind.WELCOME_CALL)
    assert (welcome.assignee, welcome.due_on, welcome.created_by) == (colleague, WELCOME_DUE, None)
    follow_up.refresh_from_db()
    assert follow_up.assignee == colleague  # the open work follows the client
    assert not Notification.objects.filter(recipient=manager).exists()


def test_clients_of_a_dismissed_manager_each_arrive_with_a_word(director, manager, colleague):
    first = ClientFactory(name="Детский сад № 3", manager=manager)
    second = ClientFactory(name="Детский сад № 4", manager=manager)

    staff_dismiss(
        actor=director, user=manager, handover={first.pk: colleague, second.pk: colleague}
    )

    texts = sorted(read(n) for n in Notification.objects.filter(recipient=colleague))
    assert texts == [
        "Клиент «Детский сад № 3» теперь ваш: Клиент-менеджер Анна больше не работает в "
        "компании. Сделайте приветственный звонок до 08.12.2026.",
        "Клиент «Детский сад № 4» теперь ваш: Клиент-менеджер Анна больше не работает в "
        "компании. Сделайте приветственный звонок до 08.12.2026.",
    ]
    assert (
        Task.objects.filter(
            kind=TaskKind.WELCOME_CALL, assignee=colleague, due_on=WELCOME_DUE
        ).count()
        == 2
    )


def test_a_client_handed_over_after_a_sale_reaches_the_client_manager(
    director, sales_manager, manager
):
    won = ClientFactory(name="Администрация Канска", manager=sales_manager)

    client_reassign(actor=director, client=won, manager=manager, reason=AssignmentReason.HANDOVER)

    assert read(only_notification(manager)) == (
        "Клиент «Администрация Канска» теперь ваш после продажи (продал: Продажи Жанна). "
        "Сделайте приветственный звонок до 08.12.2026."
    )


def test_a_returned_client_names_the_free_month_that_ended_and_the_fee(
    return_manager, manager, colleague
):
    lost = ClientFactory(name="МКУ ЦБ Ачинска", manager=manager)
    ContractFactory(
        client=lost, starts_on=datetime.date(2024, 1, 1), ends_on=datetime.date(2026, 10, 31)
    )
    case = LostCaseFactory(client=lost, lost_on=datetime.date(2026, 11, 1), lost_by=manager)
    lost_case_claim(actor=return_manager, case=case)
    with freeze_time("2026-11-03 03:00:00"):
        lost_case_start_free_month(
            actor=return_manager, case=case, starts_on=datetime.date(2026, 11, 3)
        )

    lost_case_return(
        actor=return_manager,
        case=case,
        manager=colleague,
        starts_on=TODAY,
        monthly_fee=Decimal("6500"),
    )

    assert read(only_notification(colleague)) == (
        "Клиент «МКУ ЦБ Ачинска» вернулся из очереди возврата и теперь ваш: бесплатный месяц "
        "закончился 02.12.2026, абонплата 6\u00a0500 ₽ в месяц. "
        "Сделайте приветственный звонок до 08.12.2026."
    )


def test_a_refusal_request_reaches_its_approver(manager, mentor):
    school = ClientFactory(name="МБОУ СОШ № 5", manager=manager)
    request = client_request_create(actor=manager, client=school, topic="Настроить ЭДО")

    client_request_refuse(actor=manager, request=request, reason="Не наш продукт")

    notice = only_notification(mentor)
    assert notice.url == "/team/#refusals"
    assert read(notice) == (
        "Клиент-менеджер Анна просит согласовать отказ по обращению «Настроить ЭДО» клиента "
        "«МБОУ СОШ № 5»: Не наш продукт"
    )
    assert Task.objects.filter(assignee=mentor, kind=TaskKind.REFUSAL_APPROVAL).count() == 1


def test_an_approved_refusal_is_told_to_the_manager_who_asked(manager, mentor):
    school = ClientFactory(name="МБОУ СОШ № 5", manager=manager)
    request = client_request_create(actor=manager, client=school, topic="Настроить ЭДО")
    client_request_refuse(actor=manager, request=request, reason="Не наш продукт")

    client_request_approve_refusal(actor=mentor, request=request)

    assert read(only_notification(manager)) == (
        "Отказ по обращению «Настроить ЭДО» клиента «МБОУ СОШ № 5» одобрен (Наставник Олег)."
    )
    assert not Task.objects.filter(assignee=manager, kind=TaskKind.FOLLOW_UP).exists()


def test_a_rejected_refusal_comes_back_as_a_follow_up_carrying_the_comment(manager, mentor):
    school = ClientFactory(name="МБОУ СОШ № 5", manager=manager)
    request = client_request_create(actor=manager, client=school, topic="Настроить ЭДО")
    client_request_refuse(actor=manager, request=request, reason="Не наш продукт")

    client_request_reject_refusal(
        actor=mentor, request=request, comment="Позвоните клиенту, предложите обучение"
    )

    assert read(only_notification(manager)) == (
        "Отказ по обращению «Настроить ЭДО» клиента «МБОУ СОШ № 5» отклонён (Наставник Олег): "
        "Позвоните клиенту, предложите обучение"
    )
    follow_up = Task.objects.get(assignee=manager, kind=TaskKind.FOLLOW_UP)
    assert (follow_up.client, follow_up.title, follow_up.due_on, follow_up.created_by) == (
        school,
        "Позвоните клиенту, предложите обучение",
        TODAY,
        mentor,
    )
    request.refresh_from_db()
    assert request.status == RequestStatus.IN_PROGRESS


def test_a_free_month_ending_in_three_days_reaches_the_return_manager(return_manager, manager):
    lost = ClientFactory(name="МБОУ СОШ № 9", manager=manager)
    ContractFactory(
        client=lost, starts_on=datetime.date(2024, 1, 1), ends_on=datetime.date(2026, 10, 31)
    )
    case = LostCaseFactory(client=lost, lost_on=datetime.date(2026, 11, 1), lost_by=manager)
    lost_case_claim(actor=return_manager, case=case)
    with freeze_time("2026-11-07 03:00:00"):
        lost_case_start_free_month(
            actor=return_manager, case=case, starts_on=datetime.date(2026, 11, 7)
        )

    assert tasks_create_free_month_ending(today=datetime.date(2026, 12, 3)) == 1
    assert tasks_create_free_month_ending(today=datetime.date(2026, 12, 4)) == 0  # once

    notice = only_notification(return_manager)
    assert notice.url == f"/retention/{case.pk}/"
    assert read(notice) == (
        "Бесплатный месяц клиента «МБОУ СОШ № 9» заканчивается 06.12.2026: договоритесь о "
        "возврате или закройте случай."
    )


def test_nobody_is_told_about_work_they_gave_themselves(mentor, manager):
    school = ClientFactory(manager=manager)

    client_reassign(actor=mentor, client=school, manager=mentor)

    assert not Notification.objects.exists()
    assert Task.objects.filter(assignee=mentor, kind=TaskKind.WELCOME_CALL).count() == 1


def test_work_that_rolls_back_sends_nothing(director, manager, colleague):
    """The dismissal hands the first client over (and tells the colleague) before it finds the
    second client cannot stay with the leaving manager: the whole transaction, the notification
    and the welcome call included, is undone."""
    first = ClientFactory(manager=manager)
    second = ClientFactory(manager=manager)

    with pytest.raises(ValidationError):
        staff_dismiss(
            actor=director, user=manager, handover={first.pk: colleague, second.pk: manager}
        )

    assert not Notification.objects.exists()
    assert not Task.objects.filter(kind=TaskKind.WELCOME_CALL).exists()
    first.refresh_from_db()
    assert first.manager == manager


def test_the_welcome_call_is_due_two_working_days_on_skipping_the_new_year_holidays():
    assert add_working_days(datetime.date(2026, 12, 4), 2) == WELCOME_DUE
    assert add_working_days(datetime.date(2026, 12, 29), 2) == datetime.date(2027, 1, 11)
    assert add_working_days(datetime.date(2026, 12, 30), 2) == datetime.date(2027, 1, 12)


def test_a_second_reassignment_moves_the_welcome_call_rather_than_doubling_it(
    director, manager, colleague, outsider
):
    school = ClientFactory(manager=manager)
    client_reassign(actor=director, client=school, manager=colleague)
    with freeze_time("2026-12-07 03:00:00"):  # Monday
        client_reassign(actor=director, client=school, manager=outsider)

    (welcome,) = Task.objects.filter(kind=TaskKind.WELCOME_CALL, done_at__isnull=True)
    assert (welcome.assignee, welcome.due_on) == (outsider, datetime.date(2026, 12, 9))
