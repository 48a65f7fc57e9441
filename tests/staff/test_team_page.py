"""The team page /team/ (SPEC §3.4–§3.6, §6): who opens it, each member's figures, refusals to
decide, overdue requests, the bulk handover of a leaving manager, and a constant query count."""

from __future__ import annotations

import datetime
import re
import zoneinfo
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clients.models import (
    AssignmentReason,
    Client,
    ClientAssignment,
    ClientRequest,
    ClientStatus,
    RequestStatus,
    Task,
    TaskKind,
)
from clients.services import client_request_create, client_request_refuse
from staff.models import Role
from tests.factories import ClientFactory, ContractFactory, InteractionFactory, UserFactory

KRASNOYARSK = zoneinfo.ZoneInfo("Asia/Krasnoyarsk")
NOW = datetime.datetime(2026, 11, 20, 15, 0, tzinfo=KRASNOYARSK)
TODAY = NOW.date()
HTMX = {"HTTP_HX_REQUEST": "true"}
CONFIRMED = {"confirmed": "1"}


pytestmark = [pytest.mark.frozen_clock(NOW), pytest.mark.usefixtures("english_pages")]


def active_client(manager, *, reached_days_ago: int | None = None, **fields):
    client = ClientFactory(manager=manager, status=ClientStatus.ACTIVE, **fields)
    ContractFactory(client=client)
    if reached_days_ago is not None:
        InteractionFactory(
            client=client, occurred_at=NOW - datetime.timedelta(days=reached_days_ago)
        )
    return client


def member_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-member-id="(\d+)"', html)]


def member_row(page: str, user) -> list[str]:
    row = re.search(rf'data-member-id="{user.pk}">(.*?)</tr>', page, re.S).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    return [" ".join(unescape(re.sub(r"<[^>]+>", " ", cell)).split()) for cell in cells]


def pending_refusal(manager, client, *, topic="Доработать отчёт", asked_by=None):
    request_ = client_request_create(actor=manager, client=client, topic=topic)
    return client_request_refuse(actor=asked_by or manager, request=request_, reason="Вне договора")


# --- who opens it ---------------------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_login(client, db):
    response = client.get("/team/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/team/"


@pytest.mark.parametrize(
    ("role_fixture", "status"),
    [
        ("mentor", 200),
        ("director", 200),
        ("manager", 403),
        ("sales_manager", 403),
        ("return_manager", 403),
    ],
)
def test_team_page_is_for_mentors_and_the_director(client, request, role_fixture, status):
    client.force_login(request.getfixturevalue(role_fixture))

    response = client.get("/team/")

    assert response.status_code == status
    if status == 200:
        html = response.content.decode()
        assert 'data-testid="team-table"' in html
        assert 'data-testid="refusal-approvals"' in html


def test_mentor_sees_their_group_and_the_director_every_group(
    client, director, mentor, manager, colleague, other_mentor, outsider, sales_manager
):
    UserFactory(username="gone", role=Role.CLIENT_MANAGER, mentor=mentor, is_active=False)

    client.force_login(mentor)
    mentors_view = member_ids(client.get("/team/").content.decode())
    client.force_login(director)
    directors_view = member_ids(client.get("/team/").content.decode())

    # The mentor leads the group, then the members by name.
    assert mentors_view == [mentor.pk, manager.pk, colleague.pk]
    # Groups by the mentor's name: Вера's, then Олег's.
    assert directors_view == [other_mentor.pk, outsider.pk, mentor.pk, manager.pk, colleague.pk]


def test_the_director_narrows_the_team_to_one_group(
    client, director, mentor, manager, colleague, other_mentor, outsider
):
    client.force_login(director)

    page = client.get("/team/", {"group": other_mentor.pk}).content.decode()

    assert member_ids(page) == [other_mentor.pk, outsider.pk]
    assert f'<option value="{other_mentor.pk}" selected>' in page
    # An unknown group shows everybody rather than an error.
    assert len(member_ids(client.get("/team/", {"group": "x"}).content.decode())) == 5


def test_a_large_team_is_shown_a_page_at_a_time(client, director, mentor, monkeypatch):
    monkeypatch.setattr("team.views.MEMBERS_PER_PAGE", 2)
    for n in range(3):
        UserFactory(username=f"cm{n}", full_name=f"Менеджер {n}", mentor=mentor)
    client.force_login(director)

    first = client.get("/team/").content.decode()
    last = client.get("/team/", {"members_page": 2}).content.decode()

    assert len(member_ids(first)) == 2
    assert len(member_ids(last)) == 2
    assert set(member_ids(first)).isdisjoint(member_ids(last))
    assert "4 people" in first
    assert "?members_page=2" in first


def test_each_member_row_shows_book_load_overdue_cadence_and_refusals(
    client, mentor, manager, colleague
):
    manager.capacity = 4
    manager.save(update_fields=["capacity"])
    in_time = active_client(manager, reached_days_ago=3)
    active_client(manager, reached_days_ago=31)
    late = active_client(manager)
    ClientFactory(manager=manager, status=ClientStatus.LOST)
    Task.objects.create(
        assignee=manager, client=late, kind=TaskKind.FOLLOW_UP, due_on=TODAY - datetime.timedelta(1)
    )
    Task.objects.create(assignee=manager, client=late, kind=TaskKind.AT_RISK, due_on=TODAY)
    ClientRequest.objects.create(
        client=in_time,
        logged_by=manager,
        topic="Просрочена",
        opened_at=NOW - datetime.timedelta(days=3),
        due_at=NOW - datetime.timedelta(hours=1),
    )
    pending_refusal(manager, late)
    client.force_login(mentor)

    html = client.get("/team/").content.decode()

    assert member_row(html, manager) == [
        "Клиент-менеджер Анна",
        "4",
        "3 / 4",
        "1",
        "1",
        "33 % (1/3)",
        "1",
    ]
    assert member_row(html, colleague) == [
        "Клиент-менеджер Борис",
        "0",
        "0 / 150",
        "0",
        "0",
        "—",
        "0",
    ]


def test_a_trainee_and_a_mentor_are_marked(client, mentor, manager):
    manager.ramp_until = TODAY + datetime.timedelta(days=30)
    manager.save(update_fields=["ramp_until"])
    client.force_login(mentor)

    html = client.get("/team/").content.decode()

    assert member_row(html, manager)[0] == "Клиент-менеджер Анна trainee"
    assert member_row(html, mentor)[0] == "Наставник Олег mentor"


# --- refusals -------------------------------------------------------------------------------


def refusal_ids(html: str) -> list[int]:
    return [
        int(pk) for pk in re.findall(r'data-testid="refusal-row" data-request-id="(\d+)"', html)
    ]


def test_refusals_are_listed_for_the_approver_only(
    client, director, mentor, manager, other_mentor, outsider
):
    mine = pending_refusal(manager, ClientFactory(manager=manager))
    theirs = pending_refusal(outsider, ClientFactory(manager=outsider))
    own_client = ClientFactory(manager=mentor)
    by_mentor = pending_refusal(mentor, own_client)

    client.force_login(mentor)
    mentor_sees = refusal_ids(client.get("/team/").content.decode())
    client.force_login(other_mentor)
    other_sees = refusal_ids(client.get("/team/").content.decode())
    client.force_login(director)
    director_sees = refusal_ids(client.get("/team/").content.decode())

    assert mentor_sees == [mine.pk]
    assert other_sees == [theirs.pk]
    assert director_sees == [mine.pk, theirs.pk, by_mentor.pk]


def test_mentor_approves_a_refusal_without_javascript(client, mentor, manager):
    refusal = pending_refusal(manager, ClientFactory(manager=manager))
    client.force_login(mentor)

    response = client.post(f"/team/refusals/{refusal.pk}/approve/", CONFIRMED)

    refusal.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == "/team/"
    assert (refusal.status, refusal.refusal_approved_by) == (RequestStatus.REFUSED, mentor)
    assert not Task.objects.filter(kind=TaskKind.REFUSAL_APPROVAL, done_at__isnull=True).exists()
    assert "Refusal approved." in client.get("/team/").content.decode()


def refusal_state(refusal) -> tuple:
    refusal.refresh_from_db()
    open_approvals = Task.objects.filter(
        kind=TaskKind.REFUSAL_APPROVAL, client=refusal.client_id, done_at__isnull=True
    ).count()
    return (
        refusal.status,
        refusal.refusal_reason,
        refusal.refusal_approved_by_id,
        refusal.history.count(),
        open_approvals,
    )


def test_the_approve_button_asks_before_it_refuses(client, mentor, manager):
    refusal = pending_refusal(
        manager, ClientFactory(manager=manager, name="МБОУ СОШ № 7"), topic="Отчёт 6-НДФЛ"
    )
    client.force_login(mentor)

    page = client.get("/team/").content.decode()

    form = re.search(rf'<form[^>]*action="/team/refusals/{refusal.pk}/approve/"[^>]*>', page)
    assert unescape(re.search(r'data-confirm="([^"]*)"', form.group(0)).group(1)) == (
        "Approve the refusal of the request “Отчёт 6-НДФЛ” of МБОУ СОШ № 7? "
        "The request closes as refused for good."
    )
    assert 'data-confirm-action="Approve refusal"' in form.group(0)
    assert 'id="confirm-dialog"' in page
    assert '<script src="/static/js/confirm.js" defer></script>' in page


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_an_unconfirmed_approval_changes_nothing_and_asks_on_a_second_page(
    client, mentor, manager, headers
):
    refusal = pending_refusal(
        manager, ClientFactory(manager=manager, name="МБОУ СОШ № 7"), topic="Отчёт 6-НДФЛ"
    )
    before = refusal_state(refusal)
    client.force_login(mentor)

    response = client.post(f"/team/refusals/{refusal.pk}/approve/", **headers)

    html = response.content.decode()
    assert response.status_code == 200
    assert before == (RequestStatus.REFUSAL_PENDING, "Вне договора", None, 2, 1)
    assert refusal_state(refusal) == before
    assert unescape(re.search(r'data-testid="confirm-question">(.*?)</h1>', html).group(1)) == (
        "Approve the refusal of the request “Отчёт 6-НДФЛ” of МБОУ СОШ № 7? "
        "The request closes as refused for good."
    )
    confirm_form = re.search(r'data-testid="confirm-form">.*?</form>', html, re.S).group(0)
    assert f'action="/team/refusals/{refusal.pk}/approve/"' in html
    assert '<input type="hidden" name="confirmed" value="1">' in confirm_form
    assert 'href="/team/#refusals" data-testid="confirm-cancel"' in html


def test_mentor_approves_a_refusal_with_htmx(client, mentor, manager):
    refusal = pending_refusal(manager, ClientFactory(manager=manager))
    client.force_login(mentor)

    response = client.post(f"/team/refusals/{refusal.pk}/approve/", CONFIRMED, **HTMX)

    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card" id="refusals"')
    assert "Refusal approved." in html
    assert refusal_ids(html) == []
    assert '<section class="card" id="team-members" hx-swap-oob="true">' in html


def test_a_decision_with_htmx_keeps_the_directors_group_filter(
    client, director, mentor, manager, colleague, other_mentor, outsider
):
    refusal = pending_refusal(manager, ClientFactory(manager=manager))
    client.force_login(director)
    page = client.get("/team/", {"group": mentor.pk}).content.decode()
    assert f"/team/refusals/{refusal.pk}/approve/?group={mentor.pk}" in page

    response = client.post(
        f"/team/refusals/{refusal.pk}/approve/?group={mentor.pk}", CONFIRMED, **HTMX
    )

    assert member_ids(response.content.decode()) == [mentor.pk, manager.pk, colleague.pk]


def test_mentor_rejects_a_refusal_with_a_comment(client, mentor, manager):
    refusal = pending_refusal(manager, ClientFactory(manager=manager))
    client.force_login(mentor)

    client.post(f"/team/refusals/{refusal.pk}/reject/", {"comment": "Сделать за неделю"}, **HTMX)

    refusal.refresh_from_db()
    assert refusal.status == RequestStatus.IN_PROGRESS
    assert refusal.refusal_reason == ""
    assert refusal.history.first().history_change_reason.endswith(": Сделать за неделю")


@pytest.mark.parametrize(
    ("role_fixture", "status"), [("other_mentor", 404), ("manager", 403), ("colleague", 403)]
)
def test_nobody_else_decides_a_refusal(client, request, manager, role_fixture, status):
    refusal = pending_refusal(manager, ClientFactory(manager=manager))
    client.force_login(request.getfixturevalue(role_fixture))

    approve = client.post(f"/team/refusals/{refusal.pk}/approve/", CONFIRMED)
    reject = client.post(f"/team/refusals/{refusal.pk}/reject/")

    refusal.refresh_from_db()
    assert (approve.status_code, reject.status_code) == (status, status)
    assert refusal.status == RequestStatus.REFUSAL_PENDING


def test_overdue_requests_of_the_group_are_listed(client, mentor, manager, outsider):
    for owner, topic in ((manager, "Наша просрочка"), (outsider, "Чужая просрочка")):
        ClientRequest.objects.create(
            client=ClientFactory(manager=owner),
            logged_by=owner,
            topic=topic,
            opened_at=NOW - datetime.timedelta(days=3),
            due_at=NOW - datetime.timedelta(hours=2),
        )
    client.force_login(mentor)

    html = client.get("/team/").content.decode()

    overdue = html[html.index('data-testid="team-overdue-requests"') :]
    assert "Наша просрочка" in overdue
    assert "Чужая просрочка" not in overdue


# --- handover -------------------------------------------------------------------------------


@pytest.fixture
def leaving_book(manager):
    return [active_client(manager, name=f"Школа {n}") for n in range(3)]


@pytest.mark.parametrize(("role_fixture", "status"), [("director", 200), ("mentor", 403)])
def test_only_the_director_opens_the_handover(client, request, manager, role_fixture, status):
    client.force_login(request.getfixturevalue(role_fixture))

    assert client.get(f"/team/{manager.pk}/handover/").status_code == status


def test_handover_spreads_the_book_over_the_group_and_dismisses(
    client, director, mentor, manager, colleague, leaving_book
):
    client.force_login(director)

    response = client.post(
        f"/team/{manager.pk}/handover/",
        {"target": "", "dismissed_on": "2026-11-20", **CONFIRMED},
    )

    manager.refresh_from_db()
    assert response.status_code == 302
    assert (manager.is_active, manager.dismissed_on) == (False, TODAY)
    owners = dict(Client.objects.values_list("name", "manager__username"))
    assert owners == {"Школа 0": "colleague", "Школа 1": "mentor", "Школа 2": "colleague"}
    assert (
        ClientAssignment.objects.filter(reason=AssignmentReason.DISMISSAL, starts_on=TODAY).count()
        == 3
    )
    assert "Клиент-менеджер Анна is dismissed; 3 clients handed over." in (
        client.get("/team/").content.decode()
    )


def test_handover_to_one_colleague(client, director, manager, colleague, leaving_book):
    client.force_login(director)

    client.post(
        f"/team/{manager.pk}/handover/",
        {"target": colleague.pk, "dismissed_on": "2026-11-20", **CONFIRMED},
    )

    assert set(Client.objects.values_list("manager", flat=True)) == {colleague.pk}
    assert not Client.objects.filter(manager=manager).exists()


def test_handover_with_a_future_date_names_the_date_and_changes_nothing(
    client, director, manager, colleague, leaving_book
):
    client.force_login(director)

    response = client.post(
        f"/team/{manager.pk}/handover/",
        {"target": colleague.pk, "dismissed_on": "2026-12-01", **CONFIRMED},
    )

    html = response.content.decode()
    manager.refresh_from_db()
    assert response.status_code == 422
    assert re.search(
        r'field-invalid field-dismissed_on">.*?The date cannot be in the future\.', html, re.S
    )
    assert manager.is_active
    assert set(Client.objects.values_list("manager", flat=True)) == {manager.pk}


def test_a_mentor_with_a_group_cannot_leave_before_the_group_has_a_new_mentor(
    client, director, mentor, manager
):
    client.force_login(director)

    response = client.post(
        f"/team/{mentor.pk}/handover/", {"dismissed_on": "2026-11-20", **CONFIRMED}
    )

    mentor.refresh_from_db()
    assert response.status_code == 422
    assert "Give Наставник Олег&#x27;s group another mentor first." in response.content.decode()
    assert mentor.is_active


# --- queries --------------------------------------------------------------------------------


def fill_team(mentor, managers, count: int) -> None:
    for n in range(count):
        owner = managers[n % len(managers)]
        c = active_client(owner, reached_days_ago=n % 45)
        Task.objects.create(
            assignee=owner, client=c, kind=TaskKind.FOLLOW_UP, due_on=TODAY - datetime.timedelta(2)
        )
        ClientRequest.objects.create(
            client=c,
            logged_by=owner,
            topic=f"Заявка {n}",
            opened_at=NOW - datetime.timedelta(days=3),
            due_at=NOW - datetime.timedelta(hours=1),
        )
        pending_refusal(owner, c)


@pytest.mark.parametrize("role_fixture", ["mentor", "director"])
def test_query_count_does_not_grow_with_the_team(
    client, request, mentor, manager, colleague, role_fixture
):
    client.force_login(request.getfixturevalue(role_fixture))
    fill_team(mentor, [manager, colleague], 2)
    with CaptureQueriesContext(connection) as small:
        assert client.get("/team/").status_code == 200
    extra = [
        UserFactory(username=f"cm{n}", role=Role.CLIENT_MANAGER, mentor=mentor) for n in range(4)
    ]
    fill_team(mentor, [manager, colleague, *extra], 50)
    with CaptureQueriesContext(connection) as large:
        assert client.get("/team/").status_code == 200

    assert len(small) == len(large)
    assert len(large) <= 20
