"""The lost-client queue /retention/ and the case page /retention/<id>/ (SPEC §3.3, §6): who gets
in, what the queue lists and in which order, the claim race as seen by the page, the case
actions with their audit entries, bad input writing nothing, the director's funnel, and a
constant number of queries."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from html import unescape

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils.translation import gettext
from freezegun import freeze_time

from clients.models import (
    AssignmentReason,
    ClientAssignment,
    ClientRequest,
    ClientStatus,
    Contact,
    Contract,
    ContractKind,
    Interaction,
    InteractionKind,
    InteractionOutcome,
    RequestStatus,
    Task,
    TaskKind,
    TerminationReason,
)
from kpi.funnel import (
    FunnelMonth,
    ReturnerRate,
    return_funnel_by_month,
    return_funnel_for,
    return_rate_by_return_manager,
)
from retention.models import CaseStatus
from retention.services import (
    contract_create,
    contract_terminate,
    lost_case_claim,
    lost_case_decline,
    lost_case_return,
    lost_case_start_free_month,
    lost_cases_close_expired,
    tasks_create_free_month_ending,
)
from staff.models import Role
from tests.factories import ClientFactory, ContractFactory, LostCaseFactory, UserFactory

D = datetime.date
TODAY = D(2026, 11, 15)
NOW = datetime.datetime(2026, 11, 15, 3, 0, tzinfo=datetime.UTC)
HTMX = {"HTTP_HX_REQUEST": "true"}


pytestmark = pytest.mark.frozen_clock(NOW)


LAST_DAY = D(2026, 10, 31)


def lose(manager, *, ends_on=LAST_DAY, fee="7500", reason="service_quality", **client):
    """A client of ``manager`` lost through the real services; returns its open case."""
    client = ClientFactory(manager=manager, **client)
    contract = contract_create(
        actor=manager, client=client, number="АО-1", starts_on=D(2025, 1, 1), monthly_fee=fee
    )
    _contract, case = contract_terminate(
        actor=manager, contract=contract, ends_on=ends_on, reason=reason
    )
    return case


def row_ids(response) -> list[int]:
    return [
        int(pk) for pk in re.findall(r'data-testid="case-row" data-case-id="(\d+)"', html(response))
    ]


def html(response) -> str:
    return response.content.decode()


def row(response, case) -> str:
    return re.search(rf'<tr id="case-{case.pk}".*?</tr>', html(response), re.S).group(0)


def case_state(case) -> tuple:
    case.refresh_from_db()
    return (
        case.status,
        case.return_manager_id,
        case.free_month_contract_id,
        case.new_manager_id,
        case.closed_on,
        case.decline_reason,
        Contract.objects.filter(client=case.client_id).count(),
        ClientAssignment.objects.filter(client=case.client_id).count(),
        case.history.count(),
    )


@pytest.fixture
def case(manager):
    return lose(manager)


@pytest.fixture
def claimed(case, return_manager):
    return lost_case_claim(actor=return_manager, case=case)


# --- who gets in -------------------------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_login(client, case):
    for url in ("/retention/", f"/retention/{case.pk}/"):
        response = client.get(url)

        assert response.status_code == 302
        assert response["Location"] == f"/login/?next={url}"


@pytest.mark.parametrize(
    ("role_fixture", "case_page"),
    [("manager", 200), ("mentor", 200), ("colleague", 404), ("sales_manager", 404)],
)
def test_other_roles_get_403_on_the_queue_and_every_action(
    client, request, case, role_fixture, case_page
):
    """The queue and the actions are the return workflow's; the case page reads as the API's
    case detail does (retention.access): the lost client's own manager and their mentor see
    its win-back without a way to act, anybody else gets 404."""
    client.force_login(request.getfixturevalue(role_fixture))
    before = case_state(case)

    assert client.get("/retention/").status_code == 403
    page = client.get(f"/retention/{case.pk}/")
    assert page.status_code == case_page
    if case_page == 200:
        for hook in ("claim-button", "start-free-month", "return-form", "decline-form"):
            assert f'data-testid="{hook}"' not in html(page)
    for action in ("claim", "attempt", "free-month", "return", "decline"):
        assert client.post(f"/retention/{case.pk}/{action}/").status_code == 403
    assert case_state(case) == before


@pytest.mark.parametrize("role_fixture", ["return_manager", "director"])
def test_return_manager_and_director_open_both_pages_with_their_hooks(
    client, request, case, role_fixture
):
    client.force_login(request.getfixturevalue(role_fixture))

    queue = client.get("/retention/")
    page = client.get(f"/retention/{case.pk}/")

    assert queue.status_code == 200
    assert 'data-testid="lost-queue"' in html(queue)
    assert 'data-testid="claim-button"' in row(queue, case)
    assert page.status_code == 200
    assert 'data-testid="claim-button"' in html(page)


def test_queue_pages_accept_get_only(client, return_manager):
    client.force_login(return_manager)

    assert client.post("/retention/").status_code == 405
    assert client.get("/retention/1/claim/").status_code == 405


def test_a_return_manager_cannot_open_a_closed_case_of_a_colleague(
    client, case, return_manager, second_return_manager
):
    lost_case_claim(actor=second_return_manager, case=case)
    lost_case_decline(actor=second_return_manager, case=case, reason="Ушли к конкуренту")
    client.force_login(return_manager)

    assert client.get(f"/retention/{case.pk}/").status_code == 404


# --- the queue ---------------------------------------------------------------------------------


@pytest.fixture
def pool(manager, colleague, return_manager, second_return_manager):
    """Cases of every kind, named by what the queue must do with them."""
    cases = {
        "big_old": lose(manager, fee="12000", ends_on=D(2026, 9, 30), region="Тыва"),
        "big_new": lose(colleague, fee="12000", ends_on=D(2026, 10, 31)),
        "small": lose(manager, fee="3000", ends_on=D(2026, 11, 10), reason="price"),
        "mine": lose(colleague, fee="1000", ends_on=D(2026, 10, 15)),
        "mine_free": lose(manager, fee="2000", ends_on=D(2026, 10, 20)),
        "theirs": lose(manager, fee="50000", ends_on=D(2026, 10, 31)),
        "declined": lose(colleague, fee="40000", ends_on=D(2026, 8, 31)),
    }
    lost_case_claim(actor=return_manager, case=cases["mine"])
    lost_case_claim(actor=return_manager, case=cases["mine_free"])
    lost_case_start_free_month(actor=return_manager, case=cases["mine_free"], starts_on=TODAY)
    lost_case_claim(actor=second_return_manager, case=cases["theirs"])
    lost_case_claim(actor=return_manager, case=cases["declined"])
    lost_case_decline(actor=return_manager, case=cases["declined"], reason="Закрылись")
    return cases


def test_return_manager_sees_own_cases_on_top_then_the_open_pool_by_fee_and_recency(
    client, pool, return_manager
):
    client.force_login(return_manager)

    response = client.get("/retention/")

    assert row_ids(response) == [
        pool[key].pk for key in ("mine_free", "mine", "big_new", "big_old", "small")
    ]


def test_director_sees_every_case_being_worked(client, pool, director):
    client.force_login(director)

    response = client.get("/retention/")

    assert row_ids(response) == [
        pool[key].pk for key in ("theirs", "big_new", "big_old", "small", "mine_free", "mine")
    ]
    assert "Возвраты Егор" in row(response, pool["theirs"])


def test_a_row_shows_reason_lost_by_and_the_days_of_the_window(client, pool, return_manager):
    client.force_login(return_manager)

    cells = row(client.get("/retention/"), pool["big_old"])

    # Lost on 1 October, today 15 November: 45 days since, 90 − 45 = 45 days left.
    assert 'data-testid="days-since" data-days="45"' in cells
    assert 'data-testid="days-left" data-days="45"' in cells
    assert gettext("Service quality") in cells
    assert "Клиент-менеджер Анна" in cells
    assert "12\xa0000&nbsp;₽" in cells
    assert 'data-status="open"' in cells


@override_settings(RETURN_WINDOW_DAYS=50)
def test_days_left_follow_the_configured_window_and_flag_the_ending_ones(
    client, pool, return_manager
):
    client.force_login(return_manager)

    response = client.get("/retention/")

    assert 'data-testid="days-left" data-days="5"><span class="days-left days-left-ending">' in (
        row(response, pool["big_old"])
    )
    assert 'data-days="46"><span class="days-left">' in row(response, pool["small"])


def test_own_case_row_says_claimed_by_you_and_shows_the_free_month_end(
    client, pool, return_manager
):
    client.force_login(return_manager)

    cells = row(client.get("/retention/"), pool["mine_free"])

    assert 'class="row-mine"' in cells
    assert gettext("claimed by you") in cells
    assert "14.12.2026" in cells
    assert 'data-testid="claim-button"' not in cells


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=open", ["big_new", "big_old", "small"]),
        ("status=claimed", ["mine"]),
        ("status=free_month", ["mine_free"]),
        ("status=declined", ["declined"]),
        ("status=", ["mine_free", "mine", "declined", "big_new", "big_old", "small"]),
        ("reason=price", ["small"]),
        ("region=Тыва", ["big_old"]),
        ("status=open&reason=price&region=Тыва", []),
    ],
)
def test_filters(client, pool, return_manager, query, expected):
    client.force_login(return_manager)

    response = client.get(f"/retention/?{query}")

    assert response.status_code == 200
    assert row_ids(response) == [pool[key].pk for key in expected]


def test_filter_by_the_manager_who_lost_the_client(client, pool, return_manager, colleague):
    client.force_login(return_manager)

    response = client.get(f"/retention/?lost_by={colleague.pk}")

    assert row_ids(response) == [pool[key].pk for key in ("mine", "big_new")]


def test_an_invalid_filter_shows_its_error_and_no_rows(client, pool, return_manager):
    client.force_login(return_manager)

    response = client.get("/retention/?status=bogus&region=Марс")

    assert response.status_code == 200
    assert 'data-testid="filter-errors"' in html(response)
    assert row_ids(response) == []


def test_htmx_filtering_returns_only_the_results_fragment(client, pool, return_manager):
    client.force_login(return_manager)

    response = client.get("/retention/?status=open", **HTMX)

    assert html(response).lstrip().startswith('<div class="card" id="lost-results">')
    assert row_ids(response) == [pool[key].pk for key in ("big_new", "big_old", "small")]
    assert "<html" not in html(response)


def test_summary_tiles_count_the_return_managers_view(client, pool, return_manager):
    client.force_login(return_manager)

    page = html(client.get("/retention/"))

    assert 'data-testid="summary-unclaimed">3<' in page
    assert 'data-testid="summary-in-work">2<' in page
    # Lost on 1 October: 45 days left; the others have more than 14 left.
    assert 'data-testid="summary-window-ending">0<' in page
    assert 'data-testid="return-funnel"' not in page


# --- claiming from the queue -------------------------------------------------------------------


def test_htmx_claim_swaps_the_row_to_claimed_by_you(client, case, return_manager):
    client.force_login(return_manager)

    response = client.post(f"/retention/{case.pk}/claim/", **HTMX)

    assert response.status_code == 200
    assert html(response).lstrip().startswith(f'<tr id="case-{case.pk}"')
    assert gettext("claimed by you") in html(response)
    assert 'data-testid="claim-button"' not in html(response)
    case.refresh_from_db()
    assert (case.status, case.return_manager) == (CaseStatus.CLAIMED, return_manager)
    assert case.history.latest().history_change_reason == gettext("claimed")


def test_htmx_claim_of_a_taken_case_is_409_naming_the_winner(
    client, case, return_manager, second_return_manager
):
    lost_case_claim(actor=second_return_manager, case=case)
    before = case_state(case)
    client.force_login(return_manager)

    response = client.post(f"/retention/{case.pk}/claim/", **HTMX)

    assert response.status_code == 409
    assert 'data-testid="claim-error"' in html(response)
    assert gettext("Already claimed by %(name)s.") % {"name": "Возвраты Егор"} in html(response)
    assert case_state(case) == before


def test_claim_without_javascript_redirects_to_the_case_with_a_message(
    client, case, return_manager
):
    client.force_login(return_manager)

    response = client.post(f"/retention/{case.pk}/claim/", follow=True)

    assert response.redirect_chain == [(f"/retention/{case.pk}/", 302)]
    assert 'data-testid="messages"' in html(response)
    assert 'data-testid="return-form"' in html(response)


def test_lost_claim_without_javascript_goes_back_to_the_queue_with_the_message(
    client, case, return_manager, second_return_manager
):
    lost_case_claim(actor=second_return_manager, case=case)
    client.force_login(return_manager)

    response = client.post(f"/retention/{case.pk}/claim/", follow=True)

    assert response.redirect_chain == [("/retention/", 302)]
    assert gettext("Already claimed by %(name)s.") % {"name": "Возвраты Егор"} in html(response)


# --- the case page -----------------------------------------------------------------------------


def test_case_page_shows_the_clients_history(client, manager, mentor, return_manager):
    case = lose(manager, fee="9000", reason=TerminationReason.REFUSED_REQUEST)
    Contract.objects.filter(client=case.client).update(comment="Отказали в сложной заявке")
    Interaction.objects.create(
        client=case.client,
        staff=manager,
        kind=InteractionKind.CALL_IN,
        occurred_at=NOW - datetime.timedelta(days=60),
        outcome=InteractionOutcome.COMPLAINT,
        summary="Жалоба на отказ по заявке",
    )
    ClientRequest.objects.create(
        client=case.client,
        logged_by=manager,
        topic="Доработка отчёта",
        opened_at=NOW - datetime.timedelta(days=70),
        due_at=NOW - datetime.timedelta(days=68),
        status=RequestStatus.REFUSED,
        refusal_reason="Не входит в абонентское обслуживание",
        refusal_approved_by=mentor,
    )
    Contact.objects.create(
        client=case.client, name="Главбух Ольга", phone="+7 391 000-00-00", is_decision_maker=True
    )
    client.force_login(return_manager)

    page = html(client.get(f"/retention/{case.pk}/"))

    assert gettext("A request was refused") in page
    assert 'data-testid="lost-by">Клиент-менеджер Анна' in page
    assert "Отказали в сложной заявке" in page
    assert "Жалоба на отказ по заявке" in page
    assert "Доработка отчёта" in page
    assert "Наставник Олег" in page
    assert "Главбух Ольга" in page
    assert gettext("client lost").lower() in page.lower()
    # Open case: claim first, no work forms yet.
    assert 'data-testid="return-form"' not in page
    assert 'data-testid="attempt-form"' not in page


def test_a_colleagues_claimed_case_reads_claimed_by_them_without_forms(
    client, claimed, second_return_manager
):
    client.force_login(second_return_manager)

    page = html(client.get(f"/retention/{claimed.pk}/"))

    assert "Возвраты Дарья" in page
    assert 'data-testid="return-form"' not in page
    assert 'data-testid="decline-form"' not in page


def test_logging_an_attempt_records_an_interaction_of_the_return_manager(
    client, claimed, return_manager
):
    client.force_login(return_manager)

    response = client.post(
        f"/retention/{claimed.pk}/attempt/",
        {
            "kind": "call_out",
            "outcome": "callback_requested",
            "duration_min": "7",
            "summary": "Предложили бесплатный месяц",
            "next_contact_on": "2026-11-18",
        },
    )

    assert response.status_code == 302
    attempt = Interaction.objects.get(client=claimed.client)
    assert (
        attempt.staff,
        attempt.kind,
        attempt.outcome,
        attempt.duration_min,
        attempt.summary,
        attempt.next_contact_on,
        attempt.occurred_at,
    ) == (
        return_manager,
        InteractionKind.CALL_OUT,
        InteractionOutcome.CALLBACK_REQUESTED,
        7,
        "Предложили бесплатный месяц",
        D(2026, 11, 18),
        NOW,
    )


def test_an_attempt_without_a_summary_is_refused_and_writes_nothing(
    client, claimed, return_manager
):
    client.force_login(return_manager)

    response = client.post(
        f"/retention/{claimed.pk}/attempt/", {"kind": "call_out", "outcome": "bogus"}, **HTMX
    )

    assert response.status_code == 400
    assert html(response).lstrip().startswith("<form")
    assert 'id="id_summary_error"' in html(response)
    assert 'id="id_outcome_error"' in html(response)
    assert Interaction.objects.count() == 0


def test_an_attempt_on_an_unclaimed_case_is_403(client, case, return_manager):
    client.force_login(return_manager)

    response = client.post(
        f"/retention/{case.pk}/attempt/",
        {"kind": "call_out", "outcome": "reached", "summary": "Звонок"},
    )

    assert response.status_code == 403
    assert Interaction.objects.count() == 0


def test_start_free_month_makes_a_free_contract_for_one_calendar_month(
    client, claimed, return_manager
):
    client.force_login(return_manager)

    response = client.post(f"/retention/{claimed.pk}/free-month/", {"starts_on": "2026-11-15"})

    assert response.status_code == 302
    assert response["Location"] == f"/retention/{claimed.pk}/"
    claimed.refresh_from_db()
    free = claimed.free_month_contract
    assert (claimed.status, free.kind, free.monthly_fee, free.starts_on, free.ends_on) == (
        CaseStatus.FREE_MONTH,
        ContractKind.FREE_MONTH,
        Decimal("0.00"),
        D(2026, 11, 15),
        D(2026, 12, 14),
    )
    claimed.client.refresh_from_db()
    assert claimed.client.status == ClientStatus.FREE_MONTH
    entry = claimed.history.latest()
    assert (entry.history_user, entry.history_change_reason) == (
        return_manager,
        gettext("free month started"),
    )


def test_start_free_month_before_the_loss_is_a_field_error_and_writes_nothing(
    client, claimed, return_manager
):
    client.force_login(return_manager)
    before = case_state(claimed)

    response = client.post(f"/retention/{claimed.pk}/free-month/", {"starts_on": "2026-10-01"})

    assert response.status_code == 400
    assert gettext("The free month starts after the client was lost.") in html(response)
    assert case_state(claimed) == before


@pytest.fixture
def staffed(manager, colleague, outsider, mentor, other_mentor):
    """Loads: colleague 2 / 150, outsider 1 / 10, mentor 0 / 150, other mentor 0 / 150; the
    lost-by manager keeps 3 active clients so that they would be first if they were offered."""
    for keeper, count in ((colleague, 2), (outsider, 1), (manager, 3)):
        for _ in range(count):
            ClientFactory(manager=keeper, status=ClientStatus.ACTIVE)
    type(outsider).objects.filter(pk=outsider.pk).update(capacity=10)
    UserFactory(username="gone", role=Role.CLIENT_MANAGER, is_active=False)


def test_the_picker_lists_active_client_managers_by_load_never_the_one_who_lost_it(
    client, claimed, staffed, return_manager
):
    client.force_login(return_manager)

    page = html(client.get(f"/retention/{claimed.pk}/"))

    form = re.search(r'data-testid="return-form".*?</form>', page, re.S).group(0)
    options = re.findall(r'<option value="(\d+)">([^<]+)</option>', form)
    assert [label for _pk, label in options] == [
        "Наставник Вера — 0 / 150",
        "Наставник Олег — 0 / 150",
        "Клиент-менеджер Глеб — 1 / 10",
        "Клиент-менеджер Борис — 2 / 150",
    ]
    assert str(claimed.lost_by_id) not in [pk for pk, _label in options]


def test_return_hands_the_client_to_the_chosen_manager_on_a_new_paid_contract(
    client, claimed, staffed, return_manager, colleague
):
    client.force_login(return_manager)

    response = client.post(
        f"/retention/{claimed.pk}/return/",
        {
            "manager": colleague.pk,
            "monthly_fee": "8200",
            "starts_on": "2026-11-15",
            "number": "В-77",
            "confirmed": "1",
        },
    )

    assert response.status_code == 302
    claimed.refresh_from_db()
    assert (claimed.status, claimed.new_manager, claimed.returned_on, claimed.closed_on) == (
        CaseStatus.RETURNED,
        colleague,
        TODAY,
        TODAY,
    )
    contract = Contract.objects.get(client=claimed.client, number="В-77")
    assert (contract.kind, contract.monthly_fee, contract.starts_on, contract.ends_on) == (
        ContractKind.PAID,
        Decimal("8200.00"),
        TODAY,
        None,
    )
    claimed.client.refresh_from_db()
    assert (claimed.client.manager, claimed.client.status) == (colleague, ClientStatus.ACTIVE)
    assignment = ClientAssignment.objects.get(client=claimed.client, ends_on__isnull=True)
    assert (assignment.manager, assignment.starts_on, assignment.reason) == (
        colleague,
        TODAY,
        AssignmentReason.RETURN,
    )
    entry = claimed.history.latest()
    assert (entry.history_user, entry.history_change_reason) == (
        return_manager,
        gettext("returned to %(name)s") % {"name": colleague},
    )


def test_a_forged_return_to_the_manager_who_lost_the_client_writes_nothing(
    client, claimed, staffed, return_manager, manager
):
    client.force_login(return_manager)
    before = case_state(claimed)

    response = client.post(
        f"/retention/{claimed.pk}/return/",
        {"manager": manager.pk, "monthly_fee": "8200", "starts_on": "2026-11-15"},
    )

    assert response.status_code == 400
    assert 'id="id_manager_error"' in html(response)
    assert gettext(
        "Choose an active client manager other than the one who lost the client."
    ) in html(response)
    assert case_state(claimed) == before
    claimed.client.refresh_from_db()
    assert claimed.client.manager == manager


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"monthly_fee": "-1", "starts_on": "2026-11-15"}, "monthly_fee"),
        ({"monthly_fee": "8200", "starts_on": "2026-12-01"}, "starts_on"),
        ({"monthly_fee": "8200", "starts_on": "2026-09-01"}, "starts_on"),
        ({"monthly_fee": "", "starts_on": "2026-11-15"}, "monthly_fee"),
    ],
)
def test_bad_return_input_names_the_field_and_writes_nothing(
    client, claimed, staffed, return_manager, colleague, data, field
):
    client.force_login(return_manager)
    before = case_state(claimed)

    response = client.post(
        f"/retention/{claimed.pk}/return/",
        {"manager": colleague.pk, **data, "confirmed": "1"},
        **HTMX,
    )

    assert response.status_code == 400
    assert f'id="id_{field}_error"' in html(response)
    assert case_state(claimed) == before


def test_another_return_manager_cannot_act_on_my_case(
    client, claimed, staffed, second_return_manager, colleague
):
    client.force_login(second_return_manager)
    before = case_state(claimed)

    responses = [
        client.post(f"/retention/{claimed.pk}/free-month/", {"starts_on": "2026-11-15"}),
        client.post(
            f"/retention/{claimed.pk}/return/",
            {"manager": colleague.pk, "monthly_fee": "1", "starts_on": "2026-11-15"},
        ),
        client.post(f"/retention/{claimed.pk}/decline/", {"reason": "Не хотят"}),
    ]

    assert [r.status_code for r in responses] == [403, 403, 403]
    assert case_state(claimed) == before


def test_decline_closes_the_case_with_the_reason(client, claimed, return_manager):
    client.force_login(return_manager)

    response = client.post(
        f"/retention/{claimed.pk}/decline/",
        {"reason": "Перешли к конкуренту на 3 года", "confirmed": "1"},
    )

    assert response.status_code == 302
    claimed.refresh_from_db()
    assert (claimed.status, claimed.closed_on, claimed.decline_reason) == (
        CaseStatus.DECLINED,
        TODAY,
        "Перешли к конкуренту на 3 года",
    )
    claimed.client.refresh_from_db()
    assert claimed.client.status == ClientStatus.CLOSED
    assert claimed.history.latest().history_change_reason == gettext("declined")


def test_decline_without_a_reason_writes_nothing(client, claimed, return_manager):
    client.force_login(return_manager)
    before = case_state(claimed)

    response = client.post(f"/retention/{claimed.pk}/decline/", {"reason": "  "}, **HTMX)

    assert response.status_code == 400
    assert html(response).lstrip().startswith('<details class="decline" open>')
    assert case_state(claimed) == before


def test_the_director_may_decline_an_unclaimed_case(client, case, director):
    client.force_login(director)

    response = client.post(
        f"/retention/{case.pk}/decline/", {"reason": "Учреждение закрыто", "confirmed": "1"}
    )

    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.DECLINED


def confirm_question(response) -> str:
    return unescape(
        re.search(r'data-testid="confirm-question">(.*?)</h1>', html(response)).group(1)
    )


def confirm_fields(response) -> list[tuple[str, str]]:
    form = re.search(r'data-testid="confirm-form">.*?</form>', html(response), re.S).group(0)
    return [
        (name, unescape(value))
        for name, value in re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', form)
        if name != "csrfmiddlewaretoken"
    ]


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_an_unconfirmed_decline_changes_nothing_and_asks_on_a_second_page(
    client, claimed, return_manager, headers
):
    client.force_login(return_manager)
    before = case_state(claimed)

    response = client.post(
        f"/retention/{claimed.pk}/decline/",
        {"reason": "Перешли к конкуренту", "declined_on": "2026-11-14"},
        **headers,
    )

    assert response.status_code == 200
    assert case_state(claimed) == before
    assert before[0] == CaseStatus.CLAIMED
    claimed.client.refresh_from_db()
    assert claimed.client.status == ClientStatus.LOST
    assert confirm_question(response) == gettext(
        "Close the case of %(client)s without a return? "
        "The client stays lost and leaves the win-back queue for good."
    ) % {"client": claimed.client.name}
    assert confirm_fields(response) == [
        ("reason", "Перешли к конкуренту"),
        ("declined_on", "2026-11-14"),
        ("confirmed", "1"),
    ]
    assert f'action="/retention/{claimed.pk}/decline/" data-testid="confirm-form"' in html(response)
    assert f'href="/retention/{claimed.pk}/" data-testid="confirm-cancel"' in html(response)


def test_the_second_page_of_a_decline_sent_as_it_is_declines(client, claimed, return_manager):
    client.force_login(return_manager)
    asked = client.post(
        f"/retention/{claimed.pk}/decline/",
        {"reason": "Перешли к конкуренту", "declined_on": "2026-11-14"},
    )

    response = client.post(f"/retention/{claimed.pk}/decline/", dict(confirm_fields(asked)))

    assert response.status_code == 302
    claimed.refresh_from_db()
    assert (claimed.status, claimed.closed_on, claimed.decline_reason) == (
        CaseStatus.DECLINED,
        D(2026, 11, 14),
        "Перешли к конкуренту",
    )


def test_an_unconfirmed_return_changes_nothing_and_names_the_terms(
    client, claimed, staffed, return_manager, colleague
):
    client.force_login(return_manager)
    before = case_state(claimed)

    response = client.post(
        f"/retention/{claimed.pk}/return/",
        {"manager": colleague.pk, "monthly_fee": "18200.5", "starts_on": "2026-11-15"},
    )

    assert response.status_code == 200
    assert case_state(claimed) == before
    claimed.client.refresh_from_db()
    assert (claimed.client.manager_id, claimed.client.status) == (
        claimed.lost_by_id,
        ClientStatus.LOST,
    )
    assert confirm_question(response) == gettext(
        "Return %(client)s to %(manager)s at %(fee)s ₽ a month from %(day)s? "
        "The case closes and the client goes to that manager for good."
    ) % {
        "client": claimed.client.name,
        "manager": "Клиент-менеджер Борис",
        "fee": "18\xa0200,50",
        "day": "15.11.2026",
    }
    assert confirm_fields(response) == [
        ("manager", str(colleague.pk)),
        ("monthly_fee", "18200.5"),
        ("starts_on", "2026-11-15"),
        ("confirmed", "1"),
    ]


def test_invalid_input_is_refused_before_anything_is_asked(client, claimed, return_manager):
    client.force_login(return_manager)

    response = client.post(f"/retention/{claimed.pk}/decline/", {"reason": " "})

    assert response.status_code == 400
    assert 'data-testid="confirm-page"' not in html(response)
    assert 'id="id_reason_error"' in html(response)


def test_the_case_page_forms_ask_in_a_dialog(client, claimed, staffed, return_manager):
    client.force_login(return_manager)

    page = html(client.get(f"/retention/{claimed.pk}/"))

    decline = re.search(r'<form[^>]*data-testid="decline-form"[^>]*>', page, re.S).group(0)
    ret = re.search(r'<form[^>]*data-testid="return-form"[^>]*>', page, re.S).group(0)
    assert unescape(re.search(r'data-confirm="([^"]*)"', decline).group(1)) == gettext(
        "Close the case of %(client)s without a return? "
        "The client stays lost and leaves the win-back queue for good."
    ) % {"client": claimed.client.name}
    assert unescape(re.search(r'data-confirm="([^"]*)"', ret).group(1)) == gettext(
        "Return %(client)s to the chosen manager on these terms? "
        "The case closes and the client goes to that manager for good."
    ) % {"client": claimed.client.name}
    assert 'id="confirm-dialog"' in page
    assert '<script src="/static/js/confirm.js" defer></script>' in page


def test_an_action_on_a_case_closed_meanwhile_is_a_message_not_an_error(
    client, claimed, staffed, return_manager, colleague, director
):
    lost_case_decline(actor=director, case=claimed, reason="Закрыто директором")
    client.force_login(return_manager)

    response = client.post(
        f"/retention/{claimed.pk}/return/",
        {"manager": colleague.pk, "monthly_fee": "100", "starts_on": "2026-11-15"},
        **HTMX,
    )

    # The case left the return manager's hands: the page reloads and says why.
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/retention/{claimed.pk}/"
    claimed.refresh_from_db()
    assert claimed.status == CaseStatus.DECLINED


def test_htmx_success_redirects_the_whole_page(client, claimed, return_manager):
    client.force_login(return_manager)

    response = client.post(
        f"/retention/{claimed.pk}/free-month/", {"starts_on": "2026-11-15"}, **HTMX
    )

    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/retention/{claimed.pk}/"


# --- nightly jobs meet the workflow ------------------------------------------------------------


def test_the_nightly_steps_finish_what_the_pages_started(
    client, manager, colleague, return_manager, director
):
    free = lose(manager, ends_on=D(2026, 10, 31))
    expired = lose(manager, ends_on=D(2026, 8, 10))
    came_back = lose(manager, ends_on=D(2026, 10, 31))
    client.force_login(return_manager)
    client.post(f"/retention/{free.pk}/claim/")
    client.post(f"/retention/{free.pk}/free-month/", {"starts_on": "2026-11-15"})

    # Three days before the free month ends the return manager gets a task.
    assert tasks_create_free_month_ending(today=D(2026, 12, 11)) == 1
    task = Task.objects.get(kind=TaskKind.FREE_MONTH_ENDING)
    assert (task.assignee, task.client_id, task.due_on) == (
        return_manager,
        free.client_id,
        D(2026, 12, 14),
    )
    # Past the 90-day window the case is declined on the day the window ran out.
    assert lost_cases_close_expired(today=TODAY) == 1
    expired.refresh_from_db()
    assert (expired.status, expired.closed_on) == (CaseStatus.DECLINED, D(2026, 11, 9))
    # A client that signs a paid contract by itself closes its case as returned.
    contract_create(
        actor=manager, client=came_back.client, number="С-1", starts_on=TODAY, monthly_fee="7000"
    )
    came_back.refresh_from_db()
    assert (came_back.status, came_back.closed_on) == (CaseStatus.RETURNED, TODAY)

    client.force_login(director)
    response = client.get("/retention/?status=")
    assert 'data-status="free_month"' in row(response, free)
    assert 'data-status="declined"' in row(response, expired)
    assert 'data-status="returned"' in row(response, came_back)


# --- the director's funnel ---------------------------------------------------------------------


@pytest.fixture
def history(manager, colleague, return_manager, second_return_manager):
    """Cases over three months, worked by two return managers (today 15 November 2026)."""
    september = [lose(manager, ends_on=D(2026, 9, 14)) for _ in range(4)]
    october = [lose(colleague, ends_on=D(2026, 10, 4)) for _ in range(3)]
    november = [lose(manager, ends_on=D(2026, 11, 1))]
    for case in september[:3]:
        lost_case_claim(actor=return_manager, case=case)
    lost_case_start_free_month(actor=return_manager, case=september[0], starts_on=D(2026, 10, 1))
    lost_case_return(
        actor=return_manager,
        case=september[0],
        manager=colleague,
        starts_on=D(2026, 10, 20),
        monthly_fee="5000",
    )
    lost_case_decline(
        actor=return_manager, case=september[1], reason="Нет", declined_on=D(2026, 10, 25)
    )
    lost_case_return(
        actor=return_manager,
        case=september[2],
        manager=colleague,
        starts_on=D(2026, 11, 2),
        monthly_fee="5000",
    )
    lost_case_claim(actor=second_return_manager, case=october[0])
    lost_case_start_free_month(actor=second_return_manager, case=october[0], starts_on=TODAY)
    lost_case_claim(actor=second_return_manager, case=october[1])
    lost_case_decline(actor=second_return_manager, case=october[1], reason="Нет")
    # Nobody claimed september[3]; the director closed it.
    director = UserFactory(username="boss", role=Role.DIRECTOR)
    lost_case_decline(
        actor=director, case=september[3], reason="Ликвидируется", declined_on=D(2026, 11, 10)
    )
    return {"september": september, "october": october, "november": november}


def test_funnel_counts_each_month_by_loss_and_by_closing(history):
    rows = return_funnel_by_month(today=TODAY, months=3)

    assert rows == [
        FunnelMonth(
            month=D(2026, 11, 1),
            lost=1,
            claimed=0,
            free_month=0,
            returned=0,
            declined=0,
            still_open=1,
            closed_returned=1,
            closed_declined=2,
        ),
        FunnelMonth(
            month=D(2026, 10, 1),
            lost=3,
            claimed=2,
            free_month=1,
            returned=0,
            declined=1,
            still_open=2,
            closed_returned=1,
            closed_declined=1,
        ),
        FunnelMonth(
            month=D(2026, 9, 1),
            lost=4,
            claimed=3,
            free_month=1,
            returned=2,
            declined=2,
            still_open=0,
            closed_returned=0,
            closed_declined=0,
        ),
    ]
    assert (rows[2].claim_rate, rows[2].free_month_rate, rows[2].conversion) == (0.75, 1 / 3, 0.5)
    assert (rows[0].return_rate, rows[1].return_rate, rows[2].return_rate) == (1 / 3, 0.5, None)


def test_return_rate_per_return_manager_over_twelve_months(
    history, return_manager, second_return_manager
):
    rates = return_rate_by_return_manager(today=TODAY)

    assert rates == [
        ReturnerRate(return_manager.pk, "Возвраты Дарья", returned=2, declined=1, in_work=0),
        ReturnerRate(second_return_manager.pk, "Возвраты Егор", returned=0, declined=1, in_work=1),
        ReturnerRate(None, "", returned=0, declined=1, in_work=0),
    ]
    assert [rate.return_rate for rate in rates] == [2 / 3, 0.0, 0.0]


def test_cases_closed_before_the_twelve_months_do_not_count(manager, colleague, return_manager):
    old = lose(manager, ends_on=D(2025, 9, 30))
    lost_case_claim(actor=return_manager, case=old)
    with freeze_time(datetime.datetime(2025, 11, 1, 3, 0, tzinfo=datetime.UTC)):
        lost_case_return(
            actor=return_manager,
            case=old,
            manager=colleague,
            starts_on=D(2025, 10, 31),
            monthly_fee="1",
        )

    assert return_rate_by_return_manager(today=TODAY) == []
    assert sum(row.closed_returned for row in return_funnel_by_month(today=TODAY)) == 0


def test_only_the_director_gets_the_funnel_block(
    history, director, return_manager, django_assert_num_queries
):
    with django_assert_num_queries(0):
        assert return_funnel_for(return_manager, today=TODAY) is None
    with django_assert_num_queries(3):
        funnel = return_funnel_for(director, today=TODAY)

    assert len(funnel.months) == 12
    assert funnel.total == ReturnerRate(None, "", returned=2, declined=3, in_work=1)


def test_director_sees_the_funnel_and_the_rates_on_the_queue_page(client, history, director):
    client.force_login(director)

    page = html(client.get("/retention/"))

    assert 'data-testid="return-funnel"' in page
    assert len(re.findall('data-testid="funnel-row"', page)) == 12
    october = re.search(r'data-month="2026-10".*?</tr>', page, re.S).group(0)
    assert 'data-testid="funnel-return-rate">50&nbsp;%' in october
    assert 'data-testid="return-rate-by-manager"' in page
    assert f'data-manager-id="{history["september"][0].return_manager_id}"' in page
    # Department: 2 returned of 5 closed within 12 months.
    assert 'data-testid="summary-return-rate">40&nbsp;%' in page


# --- queries -----------------------------------------------------------------------------------


def _grow(size: int, manager, colleague, return_manager) -> None:
    """``size`` more cases in every state, with history the page reads."""
    for index in range(size):
        case = LostCaseFactory(
            client=ClientFactory(manager=manager, region=f"Регион {index % 4}"),
            lost_on=D(2026, 10, 1) + datetime.timedelta(days=index % 30),
            lost_fee=Decimal(1000 + index),
        )
        if index % 3 == 1:
            lost_case_claim(actor=return_manager, case=case)
        if index % 3 == 2:
            lost_case_claim(actor=return_manager, case=case)
            lost_case_start_free_month(actor=return_manager, case=case, starts_on=TODAY)
        if index % 3 == 1 and index % 5 == 4:
            lost_case_decline(actor=return_manager, case=case, reason="Нет")
        ContractFactory(client=case.client, starts_on=D(2024, 1, 1), ends_on=D(2026, 9, 30))
        Interaction.objects.create(
            client=case.client,
            staff=colleague,
            kind=InteractionKind.CALL_OUT,
            occurred_at=NOW,
            outcome=InteractionOutcome.REACHED,
        )


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("role_fixture", ["return_manager", "director"])
def test_queue_query_count_does_not_grow_with_the_data(
    client, request, manager, colleague, return_manager, role_fixture
):
    client.force_login(request.getfixturevalue(role_fixture))
    _grow(3, manager, colleague, return_manager)
    url = f"/retention/?lost_by={manager.pk}&region=Регион+1"
    small, small_filtered = _queries(client, "/retention/"), _queries(client, url)

    _grow(30, manager, colleague, return_manager)

    assert _queries(client, "/retention/") == small
    assert _queries(client, url) == small_filtered
    assert small <= 20


def test_case_page_query_count_does_not_grow_with_the_history(
    client, claimed, staffed, manager, colleague, return_manager
):
    client.force_login(return_manager)
    url = f"/retention/{claimed.pk}/"
    small = _queries(client, url)

    for index in range(15):
        Interaction.objects.create(
            client=claimed.client,
            staff=colleague,
            kind=InteractionKind.CALL_OUT,
            occurred_at=NOW - datetime.timedelta(days=index),
            outcome=InteractionOutcome.NO_ANSWER,
        )
        Contact.objects.create(client=claimed.client, name=f"Контакт {index}")
        ClientRequest.objects.create(
            client=claimed.client,
            logged_by=manager,
            topic=f"Заявка {index}",
            opened_at=NOW,
            due_at=NOW,
            status=RequestStatus.REFUSAL_PENDING,
        )
    ClientFactory(manager=colleague, status=ClientStatus.ACTIVE)

    assert _queries(client, url) == small
    assert small <= 20
