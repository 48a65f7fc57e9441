"""The case page's return form during a free month (SPEC §3.3, §10): it proposes the day after
the free month ends, records a return from that day as an agreement (asked first, like any
return), shows it, lets it be changed or withdrawn, and refuses a day past it naming the field."""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils.translation import gettext

from clients.models import ClientAssignment, Contract, TerminationReason
from retention.models import CaseStatus, LostCase
from retention.services import (
    contract_create,
    contract_terminate,
    lost_case_claim,
    lost_case_return_agree,
    lost_case_start_free_month,
)
from tests.api.conftest import api_client
from tests.conftest import rolled_back
from tests.factories import ClientFactory

D = datetime.date
FREE_START = D(2026, 11, 5)
EFFECTIVE = D(2026, 12, 5)
NOW = datetime.datetime(2026, 11, 5, 3, 0, tzinfo=datetime.UTC)  # 10:00 in Krasnoyarsk

pytestmark = pytest.mark.frozen_clock(NOW)


@pytest.fixture
def case(manager, return_manager):
    """Lost on 2026-11-01, claimed, in its free month 2026-11-05 – 2026-12-04."""
    client = ClientFactory(manager=manager, name="МБОУ СОШ № 12")
    contract = contract_create(
        actor=manager, client=client, number="АО-1", starts_on=D(2025, 1, 1), monthly_fee="7500"
    )
    _contract, case = contract_terminate(
        actor=manager,
        contract=contract,
        ends_on=D(2026, 10, 31),
        reason=TerminationReason.SERVICE_QUALITY,
    )
    lost_case_claim(actor=return_manager, case=case)
    return lost_case_start_free_month(actor=return_manager, case=case, starts_on=FREE_START)


def html(response) -> str:
    return response.content.decode()


def return_form(page: str) -> str:
    return re.search(r'data-testid="return-form".*?</form>', page, re.S).group(0)


def written(case) -> tuple:
    case.refresh_from_db()
    return (
        case.status,
        case.agreed_starts_on,
        case.closed_on,
        Contract.objects.filter(client=case.client_id).count(),
        ClientAssignment.objects.filter(client=case.client_id).count(),
        case.history.count(),
    )


def test_the_form_proposes_the_day_after_the_free_month(client, case, return_manager):
    client.force_login(return_manager)

    form = return_form(html(client.get(f"/retention/{case.pk}/")))

    starts_on = re.search(r'<input[^>]*name="starts_on"[^>]*>', form).group(0)
    assert 'value="2026-12-05"' in starts_on
    assert 'max="2026-12-05"' in starts_on
    assert (
        gettext(
            "At the latest the day after the free month ends. A day ahead is recorded as an agreed "
            "return and carried out on that day; nothing changes before it."
        )
        in form
    )


def test_a_day_ahead_is_asked_about_as_an_agreement_then_recorded(
    client, case, return_manager, colleague
):
    client.force_login(return_manager)
    data = {"manager": colleague.pk, "monthly_fee": "6000", "starts_on": "2026-12-05"}
    before = written(case)

    asked = client.post(f"/retention/{case.pk}/return/", data)

    assert asked.status_code == 200
    assert gettext("Agree the return") in html(asked)
    assert written(case) == before

    response = client.post(f"/retention/{case.pk}/return/", {**data, "confirmed": "1"})

    assert (response.status_code, response["Location"]) == (302, f"/retention/{case.pk}/")
    state = written(case)
    assert state[:5] == (CaseStatus.FREE_MONTH, EFFECTIVE, None, before[3], before[4])
    page = html(client.get(f"/retention/{case.pk}/"))
    assert (
        gettext("The return is agreed: on %(day)s the client goes to %(name)s.")
        % {
            "day": "05.12.2026",
            "name": colleague.full_name,
        }
        in page
    )
    block = re.search(r'data-testid="agreed-return".*?</div>', page, re.S).group(0)
    assert 'data-starts-on="2026-12-05"' in block
    assert colleague.full_name in block
    assert 'data-testid="withdraw-return"' in block
    form = return_form(page)
    assert gettext("Change the agreed return") in form
    assert f'<option value="{colleague.pk}" selected>' in form


def test_a_day_past_the_free_month_is_a_field_error_and_writes_nothing(
    client, case, return_manager, colleague
):
    client.force_login(return_manager)
    before = written(case)

    response = client.post(
        f"/retention/{case.pk}/return/",
        {
            "manager": colleague.pk,
            "monthly_fee": "6000",
            "starts_on": "2026-12-06",
            "confirmed": "1",
        },
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 400
    assert 'id="id_starts_on_error"' in html(response)
    assert "2026-12-05" in html(response)
    assert written(case) == before


def test_withdrawing_the_agreement_from_the_page(client, case, return_manager, colleague):
    lost_case_return_agree(
        actor=return_manager, case=case, manager=colleague, starts_on=EFFECTIVE, monthly_fee="6000"
    )
    client.force_login(return_manager)

    response = client.post(f"/retention/{case.pk}/return/withdraw/")

    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.agreed_starts_on) == (CaseStatus.FREE_MONTH, None)
    page = html(client.get(f"/retention/{case.pk}/"))
    assert gettext("The agreed return is withdrawn.") in page
    assert 'data-testid="agreed-return"' not in page


def test_only_the_holder_withdraws(client, case, return_manager, second_return_manager, colleague):
    lost_case_return_agree(
        actor=return_manager, case=case, manager=colleague, starts_on=EFFECTIVE, monthly_fee="6000"
    )
    client.force_login(second_return_manager)

    response = client.post(f"/retention/{case.pk}/return/withdraw/")

    assert response.status_code == 403
    assert LostCase.objects.get(pk=case.pk).agreed_starts_on == EFFECTIVE


def _agreement(case) -> tuple:
    case.refresh_from_db()
    return (
        case.status,
        case.agreed_starts_on,
        case.agreed_manager_id,
        case.closed_on,
        Contract.objects.filter(client=case.client_id).count(),
        ClientAssignment.objects.filter(client=case.client_id).count(),
    )


@pytest.mark.parametrize(
    ("starts_on", "withdraw_first", "accepted", "agreed_from"),
    [
        ("2026-12-05", False, True, EFFECTIVE),
        ("2026-12-06", False, False, None),
        ("2026-12-05", True, True, None),
    ],
)
def test_the_page_and_the_api_agree_on_an_agreement(
    client, case, return_manager, colleague, starts_on, withdraw_first, accepted, agreed_from
):
    """The same day gives the same state through either door: agreed, refused, withdrawn."""
    body = {"manager": colleague.pk, "monthly_fee": "6000", "starts_on": starts_on}
    client.force_login(return_manager)
    api = api_client(return_manager)
    if withdraw_first:
        lost_case_return_agree(
            actor=return_manager, case=case, manager=colleague, starts_on=EFFECTIVE, monthly_fee=1
        )
        doors = (
            lambda: client.post(f"/retention/{case.pk}/return/withdraw/"),
            lambda: api.post(f"/api/v1/lost-cases/{case.pk}/withdraw-return/"),
        )
    else:
        doors = (
            lambda: client.post(f"/retention/{case.pk}/return/", {**body, "confirmed": "1"}),
            lambda: api.post(f"/api/v1/lost-cases/{case.pk}/return/", body, format="json"),
        )

    states = []
    for door in doors:
        with rolled_back():
            answer = door().status_code
            states.append((answer < 400, _agreement(case)))

    assert states[0] == states[1]
    assert (states[0][0], states[0][1][1]) == (accepted, agreed_from)
