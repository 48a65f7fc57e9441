"""The client card /clients/<id>/ (SPEC §3.4, §3.7, §6): who opens it, the quick forms with and
without htmx, request actions, tasks, the one timeline, and a query count that does not grow."""

from __future__ import annotations

import datetime
import re
import zoneinfo
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from freezegun import freeze_time

from clients.models import (
    ClientRequest,
    ClientStatus,
    Contact,
    Interaction,
    InteractionKind,
    InteractionOutcome,
    Referral,
    RequestStatus,
    RequestUrgency,
    Task,
    TaskKind,
)
from clients.selectors import client_timeline
from clients.services import (
    client_reassign,
    client_request_create,
    client_request_refuse,
    client_request_resolve,
    interaction_log,
    referral_create,
)
from retention.models import CaseStatus
from retention.services import contract_change_fee
from tests.factories import ClientFactory, ContractFactory, InteractionFactory, LostCaseFactory

KRASNOYARSK = zoneinfo.ZoneInfo("Asia/Krasnoyarsk")
# Friday 20 November 2026, 15:00 in Krasnoyarsk.
NOW = datetime.datetime(2026, 11, 20, 15, 0, tzinfo=KRASNOYARSK)
TODAY = NOW.date()
HTMX = {"HTTP_HX_REQUEST": "true"}


pytestmark = [pytest.mark.frozen_clock(NOW), pytest.mark.usefixtures("english_pages")]


@pytest.fixture
def school(manager):
    client = ClientFactory(manager=manager, name="МБОУ СОШ № 12", status=ClientStatus.ACTIVE)
    ContractFactory(client=client, number="АО-0012", monthly_fee=Decimal("7500.00"))
    Contact.objects.create(client=client, name="Иванова Мария", position="Главный бухгалтер")
    return client


def url(client, action: str = "") -> str:
    return f"/clients/{client.pk}/{action}"


def timeline_html(html: str) -> str:
    start = html.index('id="client-timeline"')
    return html[start : html.index("</section>", start)]


def timeline_kinds(html: str) -> list[str]:
    return re.findall(r'data-testid="timeline-entry" data-kind="(\w+)"', timeline_html(html))


# --- who opens it ---------------------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_login(client, school):
    response = client.get(url(school))

    assert response.status_code == 302
    assert response["Location"] == f"/login/?next=/clients/{school.pk}/"


@pytest.mark.parametrize(
    ("role_fixture", "status", "editable"),
    [
        ("manager", 200, True),
        ("mentor", 200, True),
        ("director", 200, True),
        ("colleague", 404, False),
        ("other_mentor", 404, False),
        ("outsider", 404, False),
        ("sales_manager", 404, False),
        ("return_manager", 404, False),
    ],
)
def test_card_opens_for_owner_mentor_and_director_only(
    client, request, school, role_fixture, status, editable
):
    client.force_login(request.getfixturevalue(role_fixture))

    response = client.get(url(school))

    assert response.status_code == status
    if status == 200:
        html = response.content.decode()
        hooks = ["client-timeline", "log-call-form", "log-request-form", "add-referral-form"]
        for hook in hooks:
            assert (f'data-testid="{hook}"' in html) is (editable or hook == "client-timeline")


def test_return_manager_reads_a_lost_pool_client_without_forms(client, return_manager, school):
    LostCaseFactory(client=school, status=CaseStatus.OPEN)
    client.force_login(return_manager)

    response = client.get(url(school))
    posted = client.post(
        url(school, "calls/"), {"call-kind": "call_out", "call-outcome": "reached"}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="read-only"' in html
    assert 'data-testid="log-call-form"' not in html
    assert posted.status_code == 404
    assert not Interaction.objects.exists()


def test_return_manager_works_the_client_of_a_claimed_case(client, return_manager, school):
    LostCaseFactory(client=school, status=CaseStatus.CLAIMED, return_manager=return_manager)
    client.force_login(return_manager)

    html = client.get(url(school)).content.decode()
    posted = client.post(url(school, "calls/"), CALL)

    assert 'data-testid="log-call-form"' in html
    assert posted.status_code == 302
    assert Interaction.objects.get().staff == return_manager


def test_card_shows_contacts_contracts_manager_history_and_facts(client, manager, school):
    client.force_login(manager)

    html = client.get(url(school)).content.decode()

    assert "МБОУ СОШ № 12</h1>" in html or "МБОУ СОШ № 12 <span" in html
    assert "Иванова Мария" in html
    assert "АО-0012" in html
    assert "7,500&nbsp;₽" in html
    assert "mentor Наставник Олег" in html
    assert re.search(r"Клиент-менеджер Анна\s*<span class=\"sub\">from the start – now", html)


# --- logging a call -------------------------------------------------------------------------

CALL = {
    "call-kind": InteractionKind.CALL_OUT,
    "call-outcome": InteractionOutcome.REACHED,
    "call-summary": "Обсудили переход на ЕФС-1",
    "call-next_contact_on": "2026-12-01",
}


def test_logging_a_call_without_javascript_redirects_to_the_card(client, manager, school):
    client.force_login(manager)

    response = client.post(url(school, "calls/"), CALL)

    assert response.status_code == 302
    assert response["Location"] == url(school)
    call = Interaction.objects.get()
    assert (call.client, call.staff, call.kind, call.outcome) == (
        school,
        manager,
        "call_out",
        "reached",
    )
    assert call.summary == "Обсудили переход на ЕФС-1"
    assert call.next_contact_on == datetime.date(2026, 12, 1)
    assert call.occurred_at == NOW
    follow = client.get(response["Location"]).content.decode()
    assert "Call logged." in follow
    assert "Обсудили переход на ЕФС-1" in timeline_html(follow)


def test_logging_a_call_with_htmx_returns_a_fresh_form_and_the_new_timeline(
    client, manager, school
):
    client.force_login(manager)

    response = client.post(url(school, "calls/"), CALL, **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<form id="log-call-form"')
    form = html[: html.index("</form>")]
    assert "Обсудили переход" not in form
    assert '<div id="card-notice" role="status" aria-live="polite" hx-swap-oob="true">' in html
    assert 'id="client-timeline" data-testid="client-timeline" hx-swap-oob="true"' in html
    assert 'id="open-requests" data-testid="open-requests" hx-swap-oob="true"' in html
    assert "Обсудили переход на ЕФС-1" in timeline_html(html)
    assert Interaction.objects.count() == 1


def test_a_reached_call_closes_the_follow_up_task(client, manager, school):
    follow_up = Task.objects.create(
        assignee=manager, client=school, kind=TaskKind.FOLLOW_UP, due_on=TODAY
    )
    client.force_login(manager)

    client.post(url(school, "calls/"), CALL, **HTMX)

    follow_up.refresh_from_db()
    assert follow_up.done_at == NOW


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("call-next_contact_on", "2026-11-01", "The next contact must be after this one."),
        ("call-next_contact_on", "01.13.2026", "Enter a valid date."),
        (
            "call-outcome",
            "angry",
            "Select a valid choice. angry is not one of the available choices.",
        ),
    ],
)
def test_a_bad_call_names_the_field_and_writes_nothing(
    client, manager, school, field, value, message
):
    client.force_login(manager)

    response = client.post(url(school, "calls/"), {**CALL, field: value}, **HTMX)

    html = response.content.decode()
    error = re.search(rf'<div class="field field-invalid field-{field[5:]}">.*?</div>', html, re.S)
    assert response.status_code == 200
    assert message in error.group(0)
    assert not Interaction.objects.exists()


def test_a_bad_call_without_javascript_shows_the_whole_card_with_the_error(client, manager, school):
    client.force_login(manager)

    response = client.post(url(school, "calls/"), {**CALL, "call-next_contact_on": "2026-11-01"})

    html = response.content.decode()
    assert response.status_code == 422
    assert 'data-testid="client-timeline"' in html
    assert "The next contact must be after this one." in html
    assert 'value="Обсудили' in html or "Обсудили переход на ЕФС-1</textarea>" in html
    assert not Interaction.objects.exists()


@pytest.mark.parametrize("role_fixture", ["colleague", "outsider", "other_mentor", "sales_manager"])
def test_nobody_logs_a_call_on_someone_elses_client(client, request, school, role_fixture):
    client.force_login(request.getfixturevalue(role_fixture))

    response = client.post(url(school, "calls/"), CALL)

    assert response.status_code == 404
    assert not Interaction.objects.exists()


def test_card_pages_refuse_get_on_post_endpoints(client, manager, school):
    client.force_login(manager)

    assert client.get(url(school, "calls/")).status_code == 405


# --- requests -------------------------------------------------------------------------------


def test_logging_a_request_computes_its_due_time_from_the_sla(client, manager, school):
    client.force_login(manager)

    response = client.post(
        url(school, "requests/"),
        {"request-topic": "Не сходится 6-НДФЛ", "request-urgency": "normal"},
        **HTMX,
    )

    logged = ClientRequest.objects.get()
    assert response.status_code == 200
    assert (logged.topic, logged.urgency, logged.status) == ("Не сходится 6-НДФЛ", "normal", "open")
    # Friday 15:00 plus two working days: Tuesday 15:00.
    assert logged.due_at == datetime.datetime(2026, 11, 24, 15, 0, tzinfo=KRASNOYARSK)
    html = response.content.decode()
    assert html.lstrip().startswith('<form id="log-request-form"')
    assert f'data-request-id="{logged.pk}" data-status="open"' in html
    assert "Due 24.11.2026 15:00" in timeline_html(html)


def test_an_urgent_request_is_due_in_four_hours(client, manager, school):
    client.force_login(manager)

    client.post(
        url(school, "requests/"), {"request-topic": "Сдать отчёт", "request-urgency": "urgent"}
    )

    assert ClientRequest.objects.get().due_at == NOW + datetime.timedelta(hours=4)


def test_a_request_without_a_topic_is_refused_next_to_the_topic(client, manager, school):
    client.force_login(manager)

    response = client.post(
        url(school, "requests/"), {"request-topic": "  ", "request-urgency": "normal"}, **HTMX
    )

    html = response.content.decode()
    error = re.search(r'<div class="field field-invalid field-topic">.*?</div>', html, re.S)
    assert "This field is required." in error.group(0)
    assert not ClientRequest.objects.exists()


def test_resolving_a_request(client, manager, school):
    request_ = client_request_create(actor=manager, client=school, topic="Обновить 1С")
    client.force_login(manager)

    response = client.post(url(school, f"requests/{request_.pk}/resolve/"), **HTMX)

    request_.refresh_from_db()
    assert request_.status == RequestStatus.RESOLVED
    assert request_.resolved_at == NOW
    assert "Request resolved." in response.content.decode()
    assert f'data-request-id="{request_.pk}"' not in response.content.decode()


def test_resolving_a_request_twice_says_it_is_already_resolved(client, manager, school):
    request_ = client_request_create(actor=manager, client=school, topic="Обновить 1С")
    client_request_resolve(actor=manager, request=request_)
    client.force_login(manager)

    response = client.post(url(school, f"requests/{request_.pk}/resolve/"), **HTMX)

    assert "The request is already “Resolved”." in response.content.decode()


def test_asking_to_refuse_sends_the_request_to_the_mentor(client, manager, mentor, school):
    request_ = client_request_create(actor=manager, client=school, topic="Доработать отчёт")
    client.force_login(manager)

    response = client.post(
        url(school, f"requests/{request_.pk}/refuse/"),
        {"reason": "Доработка вне абонентского договора"},
        **HTMX,
    )

    request_.refresh_from_db()
    assert request_.status == RequestStatus.REFUSAL_PENDING
    assert request_.refusal_reason == "Доработка вне абонентского договора"
    approval = Task.objects.get(kind=TaskKind.REFUSAL_APPROVAL)
    assert (approval.assignee, approval.client, approval.done_at) == (mentor, school, None)
    html = response.content.decode()
    assert "Refusal requested: it waits for approval." in html
    assert f'data-request-id="{request_.pk}" data-status="refusal_pending"' in html


def test_asking_to_refuse_without_a_reason_names_the_reason(client, manager, school):
    request_ = client_request_create(actor=manager, client=school, topic="Доработать отчёт")
    client.force_login(manager)

    response = client.post(url(school, f"requests/{request_.pk}/refuse/"), {"reason": ""}, **HTMX)

    html = response.content.decode()
    request_.refresh_from_db()
    assert request_.status == RequestStatus.OPEN
    assert f'<ul class="errorlist" id="id_refuse_{request_.pk}_reason_error">' in html
    assert "This field is required." in html
    assert not Task.objects.filter(kind=TaskKind.REFUSAL_APPROVAL).exists()


def test_a_request_of_another_client_is_not_found(client, manager, colleague, school):
    theirs = client_request_create(
        actor=colleague, client=ClientFactory(manager=colleague), topic="Чужая заявка"
    )
    client.force_login(manager)

    response = client.post(url(school, f"requests/{theirs.pk}/resolve/"))

    theirs.refresh_from_db()
    assert response.status_code == 404
    assert theirs.status == RequestStatus.OPEN


# --- referrals and tasks --------------------------------------------------------------------


def test_recording_a_referral(client, manager, school):
    client.force_login(manager)

    response = client.post(
        url(school, "referrals/"),
        {"referral-organisation": "МБДОУ № 5", "referral-contact": "Петрова, 8-391-000-00-00"},
        **HTMX,
    )

    referral = Referral.objects.get()
    assert (referral.referrer, referral.recorded_by, referral.organisation, referral.status) == (
        school,
        manager,
        "МБДОУ № 5",
        "new",
    )
    assert "МБДОУ № 5" in timeline_html(response.content.decode())


def test_a_referral_with_a_bad_inn_names_the_inn(client, manager, school):
    client.force_login(manager)

    response = client.post(
        url(school, "referrals/"),
        {"referral-organisation": "МБДОУ № 5", "referral-inn": "2466000001"},
        **HTMX,
    )

    html = response.content.decode()
    assert re.search(r'<div class="field field-invalid field-inn">.*?errorlist', html, re.S)
    assert not Referral.objects.exists()


def test_completing_a_task_on_the_card(client, manager, school):
    todo = Task.objects.create(assignee=manager, client=school, kind=TaskKind.AT_RISK, due_on=TODAY)
    client.force_login(manager)

    response = client.post(url(school, f"tasks/{todo.pk}/complete/"), **HTMX)

    todo.refresh_from_db()
    assert todo.done_at == NOW
    assert "Task done." in response.content.decode()


def test_a_manager_cannot_complete_the_mentors_task(client, manager, mentor, school):
    theirs = Task.objects.create(
        assignee=mentor, client=school, kind=TaskKind.REFUSAL_APPROVAL, due_on=TODAY
    )
    client.force_login(manager)

    page = client.get(url(school)).content.decode()
    response = client.post(url(school, f"tasks/{theirs.pk}/complete/"))

    theirs.refresh_from_db()
    assert f'action="/clients/{school.pk}/tasks/{theirs.pk}/complete/"' not in page
    assert response.status_code == 403
    assert theirs.done_at is None


# --- the timeline ---------------------------------------------------------------------------


def test_timeline_merges_everything_newest_first(client, manager, director):
    with freeze_time(NOW - datetime.timedelta(days=10)):
        school = ClientFactory(manager=manager, status=ClientStatus.ACTIVE)
        contract = ContractFactory(client=school, monthly_fee=Decimal("7500.00"))
    with freeze_time(NOW - datetime.timedelta(days=5)):
        interaction_log(
            actor=manager, client=school, kind="call_out", outcome="reached", summary="Первый"
        )
    with freeze_time(NOW - datetime.timedelta(days=4)):
        request_ = client_request_create(actor=manager, client=school, topic="Отчёт в ФНС")
    with freeze_time(NOW - datetime.timedelta(days=3)):
        referral_create(actor=manager, referrer=school, organisation="Детский сад № 3")
    with freeze_time(NOW - datetime.timedelta(days=2)):
        client_request_refuse(actor=manager, request=request_, reason="Не по договору")
    with freeze_time(NOW - datetime.timedelta(days=1)):
        contract_change_fee(
            actor=director, contract=contract, monthly_fee=Decimal("9000.00"), effective_on=TODAY
        )
    client.force_login(manager)

    html = client.get(url(school)).content.decode()

    assert timeline_kinds(html) == [
        *["change", "change"],  # the fee change: the new contract, the old one ended
        *["task", "change"],  # the refusal: the mentor's approval task, the request's new status
        *["referral", "request", "interaction"],
        *["change", "change", "change"],  # the client, its contract and first manager created
    ]
    body = timeline_html(html)
    assert body.index("9,000") < body.index("Ends on: — →") < body.index("Не по договору")
    assert body.index("Не по договору") < body.index("Детский сад № 3")
    # The request itself, logged on Monday 16th: due two working days later.
    assert body.index("Детский сад № 3") < body.index("Due 18.11.2026 15:00") < body.index("Первый")
    assert "Status: Open → Refusal awaiting approval" in body
    assert "Refusal reason: — → Не по договору" in body


def test_timeline_records_a_reassignment(client, manager, colleague, mentor, school):
    # Change reasons are stored in the language of the person who made the change.
    with translation.override("en"):
        client_reassign(actor=mentor, client=school, manager=colleague)
    client.force_login(mentor)

    body = timeline_html(client.get(url(school)).content.decode())

    assert "taken from Клиент-менеджер Анна" in body
    assert "manager changed to Клиент-менеджер Борис" in body


def test_timeline_shows_the_newest_entries_and_offers_the_rest(client, manager, school):
    for n in range(60):
        InteractionFactory(client=school, occurred_at=NOW - datetime.timedelta(hours=n))
    client.force_login(manager)

    first = client.get(url(school)).content.decode()
    more = client.get(url(school) + "?limit=100", **HTMX).content.decode()

    assert len(timeline_kinds(first)) == 50
    assert f'href="/clients/{school.pk}/?limit=100#client-timeline"' in first
    assert more.lstrip().startswith('<section class="card" id="client-timeline"')
    assert len(timeline_kinds(more)) == 63  # 60 calls, the client, its contract and manager
    assert "Show earlier entries" not in more


def test_timeline_selector_reads_a_bounded_number_of_queries(manager, school):
    for n in range(30):
        InteractionFactory(client=school, occurred_at=NOW - datetime.timedelta(hours=n))

    with CaptureQueriesContext(connection) as queries:
        entries, has_more = client_timeline(school, limit=10)

    assert len(queries) == 8
    assert len(entries) == 10
    assert has_more is True
    assert [entry.at for entry in entries] == sorted((e.at for e in entries), reverse=True)


# --- queries --------------------------------------------------------------------------------


def add_history(card_client, manager, count: int) -> None:
    for n in range(count):
        InteractionFactory(
            client=card_client, staff=manager, occurred_at=NOW - datetime.timedelta(days=n + 1)
        )
        request_ = client_request_create(
            actor=manager,
            client=card_client,
            topic=f"Заявка {n}",
            urgency=RequestUrgency.URGENT,
            opened_at=NOW - datetime.timedelta(days=n + 1),
        )
        if n % 2:
            client_request_resolve(actor=manager, request=request_)
        referral_create(actor=manager, referrer=card_client, organisation=f"Школа {n}")
        Task.objects.create(
            assignee=manager,
            client=card_client,
            kind=TaskKind.MANUAL,
            due_on=TODAY,
            created_by=manager,
        )
        Contact.objects.create(client=card_client, name=f"Контакт {n}")


@pytest.mark.parametrize("role_fixture", ["manager", "mentor", "director"])
def test_card_query_count_does_not_grow_with_history(
    client, request, manager, school, role_fixture
):
    client.force_login(request.getfixturevalue(role_fixture))
    add_history(school, manager, 2)
    with CaptureQueriesContext(connection) as small:
        assert client.get(url(school)).status_code == 200
    add_history(school, manager, 70)
    with CaptureQueriesContext(connection) as large:
        assert client.get(url(school)).status_code == 200

    assert len(small) == len(large)
    assert len(large) <= 20
