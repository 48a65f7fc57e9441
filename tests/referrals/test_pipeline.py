"""SPEC §14: a lead's stages and their history, who works it, winning it into the referrer's
manager's book (through a reassignment too) with the thank-you task, losing it with a reason,
giving it to someone else, and the referral question of the call form."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from clients.models import (
    AcquisitionChannel,
    ClientKind,
    ClientStatus,
    ContractKind,
    InteractionKind,
    InteractionOutcome,
    Referral,
    ReferralAsk,
    Task,
    TaskKind,
)
from clients.selectors import referrals_due, referrals_with_duplicates
from clients.services import client_reassign, interaction_log, referral_create
from core.errors import Conflict
from inbox.models import Notification, NotificationKind
from referrals.services import referral_give, referral_lose, referral_move, referral_win
from tests.factories import ClientFactory, ContractFactory, make_inn

pytestmark = pytest.mark.frozen_clock("2026-12-04 09:00:00")
TODAY = datetime.date(2026, 12, 4)


@pytest.fixture
def referrer(manager):
    return ClientFactory(manager=manager, name="МБОУ СОШ № 5")


def stages(lead: Referral) -> list[tuple[str, str]]:
    return list(lead.stages.order_by("changed_at", "pk").values_list("from_status", "to_status"))


def test_a_lead_is_owned_by_its_recorder_and_due_the_next_working_day(manager, referrer):
    # 4 December 2026 is a Friday: the next working day is Monday the 7th.
    lead = referral_create(actor=manager, referrer=referrer, organisation="Детский сад № 3")

    assert (lead.owner, lead.status, lead.next_step_on) == (
        manager,
        "new",
        datetime.date(2026, 12, 7),
    )
    assert stages(lead) == [("", "new")]


def test_stages_move_both_ways_and_each_change_is_history(manager, referrer):
    lead = referral_create(actor=manager, referrer=referrer, organisation="Детский сад № 3")
    referral_move(actor=manager, referral=lead, status="meeting", next_step_on=TODAY)
    referral_move(actor=manager, referral=lead, status="contacted", note="Встреча перенесена")
    referral_move(
        actor=manager, referral=lead, status="contacted", next_step_on=datetime.date(2026, 12, 10)
    )

    lead.refresh_from_db()
    assert (lead.status, lead.next_step_on) == ("contacted", datetime.date(2026, 12, 10))
    assert stages(lead) == [("", "new"), ("new", "meeting"), ("meeting", "contacted")]
    assert lead.stages.last().note == "Встреча перенесена"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"status": "won"}, "status"),
        ({"status": "lost"}, "status"),
        ({"status": "banana"}, "status"),
        ({"status": "contacted", "next_step_on": datetime.date(2026, 12, 3)}, "next_step_on"),
        ({"status": "contacted", "next_step_on": datetime.date(2200, 1, 1)}, "next_step_on"),
    ],
)
def test_a_bad_move_names_its_field_and_changes_nothing(manager, referrer, changes, field):
    lead = referral_create(actor=manager, referrer=referrer, organisation="Детский сад № 3")
    with pytest.raises(ValidationError) as error:
        referral_move(actor=manager, referral=lead, **changes)
    assert field in error.value.message_dict
    lead.refresh_from_db()
    assert (lead.status, stages(lead)) == ("new", [("", "new")])


def test_a_lost_lead_needs_a_reason_and_is_closed_for_good(manager, referrer):
    lead = referral_create(actor=manager, referrer=referrer, organisation="Детский сад № 3")
    with pytest.raises(ValidationError) as error:
        referral_lose(actor=manager, referral=lead, reason="  ")
    assert "reason" in error.value.message_dict

    referral_lose(actor=manager, referral=lead, reason="Нет бюджета")
    lead.refresh_from_db()
    assert (lead.status, lead.lost_reason, lead.closed_on, lead.next_step_on) == (
        "lost",
        "Нет бюджета",
        TODAY,
        None,
    )
    with pytest.raises(Conflict):
        referral_move(actor=manager, referral=lead, status="contacted")


def test_winning_credits_the_referrers_manager_after_a_reassignment(
    manager, colleague, mentor, referrer
):
    lead = referral_create(
        actor=manager, referrer=referrer, organisation="Детский сад № 3", inn=make_inn(301)
    )
    # The referrer moves to a colleague before the lead is won: the credit follows the referrer.
    client_reassign(actor=mentor, client=referrer, manager=colleague)

    client = referral_win(actor=manager, referral=lead, kind=ClientKind.KINDERGARTEN)

    lead.refresh_from_db()
    assert (client.name, client.inn, client.manager) == (
        "Детский сад № 3",
        make_inn(301),
        colleague,
    )
    assert (client.acquisition_channel, client.referred_by) == (
        AcquisitionChannel.REFERRAL,
        referrer,
    )
    assert (lead.status, lead.client, lead.closed_on) == ("won", client, TODAY)
    assert stages(lead) == [("", "new"), ("new", "won")]
    thank = Task.objects.get(kind=TaskKind.THANK_REFERRER)
    assert (thank.assignee, thank.client, thank.due_on) == (
        colleague,
        referrer,
        datetime.date(2026, 12, 9),
    )
    told = Notification.objects.filter(recipient=colleague).values_list("kind", flat=True)
    assert sorted(told) == sorted(
        [
            NotificationKind.CLIENT_ASSIGNED,
            NotificationKind.CLIENT_ASSIGNED,
            NotificationKind.THANK_REFERRER,
        ]
    )  # the referrer itself, the new client, the thank-you


def test_an_inn_of_a_client_is_refused_and_two_open_leads_with_one_inn_are_duplicates(
    manager, colleague, referrer
):
    other = ClientFactory(manager=colleague, inn=make_inn(77))
    with pytest.raises(ValidationError) as error:
        referral_create(actor=manager, referrer=referrer, organisation="X", inn=other.inn)
    assert error.value.message_dict == {"inn": ["Эта организация уже является клиентом компании."]}
    assert colleague.get_full_name() not in str(error.value)

    first = referral_create(actor=manager, referrer=referrer, organisation="А", inn=make_inn(5))
    second_referrer = ClientFactory(manager=colleague)
    second = referral_create(
        actor=colleague, referrer=second_referrer, organisation="Б", inn=make_inn(5)
    )
    flags = dict(
        referrals_with_duplicates(Referral.objects.all()).values_list("pk", "is_duplicate")
    )
    assert flags == {first.pk: True, second.pk: True}
    # Winning one closes every open lead of that referrer with that INN; the other stays open and
    # is no duplicate any more.
    referral_win(actor=manager, referral=first, kind=ClientKind.SCHOOL)
    flags = dict(
        referrals_with_duplicates(Referral.objects.all()).values_list("pk", "is_duplicate")
    )
    assert flags == {first.pk: False, second.pk: False}


def test_who_works_a_lead(manager, colleague, outsider, director, sales_manager, referrer):
    lead = referral_create(actor=manager, referrer=referrer, organisation="Детский сад № 3")
    with pytest.raises(PermissionDenied):
        referral_move(actor=outsider, referral=lead, status="contacted")
    with pytest.raises(PermissionDenied):
        referral_give(actor=manager, referral=lead, owner=colleague)

    referral_give(actor=director, referral=lead, owner=sales_manager)
    lead.refresh_from_db()
    assert lead.owner == sales_manager
    note = Notification.objects.get(recipient=sales_manager)
    assert (note.kind, note.url) == (
        NotificationKind.REFERRAL_GIVEN,
        reverse("referrals:lead", args=[lead.pk]),
    )
    # The sales manager does not see the referrer, yet works the lead given to them.
    referral_move(actor=sales_manager, referral=lead, status="meeting")
    assert referrals_due(sales_manager, today=TODAY) == []
    assert referrals_due(manager, today=datetime.date(2026, 12, 7)) == []


def test_the_referral_question_counts_only_where_it_is_due(manager):
    steady = ClientFactory(manager=manager, status=ClientStatus.ACTIVE)
    ContractFactory(client=steady, kind=ContractKind.PAID, starts_on=datetime.date(2026, 1, 1))
    fresh = ClientFactory(manager=manager, status=ClientStatus.ACTIVE)
    ContractFactory(client=fresh, kind=ContractKind.PAID, starts_on=datetime.date(2026, 10, 1))

    def call(client, outcome, asked=""):
        return interaction_log(
            actor=manager, client=client, kind=InteractionKind.CALL_OUT, outcome=outcome,
            referral_asked=asked,
        )  # fmt: skip

    reached = call(steady, InteractionOutcome.REACHED, ReferralAsk.YES)
    unanswered = call(steady, InteractionOutcome.REACHED)
    no_answer = call(steady, InteractionOutcome.NO_ANSWER)
    too_new = call(fresh, InteractionOutcome.REACHED, ReferralAsk.DECLINED)
    assert [
        (i.referral_ask_eligible, i.referral_asked)
        for i in (reached, unanswered, no_answer, too_new)
    ] == [(True, "yes"), (True, "no"), (False, ""), (False, "declined")]
    with pytest.raises(ValidationError) as error:
        call(steady, InteractionOutcome.REACHED, "maybe")
    assert "referral_asked" in error.value.message_dict
