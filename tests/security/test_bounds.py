"""SPEC §10: every business date and number has a sane range (core/bounds.py), at every write path.

Hypothesis throws values outside the range at each endpoint and page form that writes: the answer
is a 4xx naming the field and no row is written. Then any date from year 1 to 9999 in any date
field of the API and the pages never gives a 5xx.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client as Browser
from django.utils import timezone, translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clients.models import ClientAssignment, Contract, Interaction
from core.bounds import (
    CALL_DURATION_MAX_MIN,
    CAPACITY_MAX,
    GOAL_CLIENTS_MAX,
    GOAL_MAX_YEARS_AHEAD,
    MAX_DAYS_AHEAD,
    MONTHLY_FEE_MAX,
    business_date_check,
)
from kpi.models import Goal, KpiSnapshot
from retention.models import CaseStatus, LostCase
from staff.models import User
from tests.api import conftest as api_conftest
from tests.api.conftest import api_client
from tests.conftest import rolled_back

# Every example posts a request (and a page renders): a few dozen at most, whatever the profile.
SETTINGS = settings(
    max_examples=min(settings.default.max_examples, 25),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# The API tests' small department as a fixture (this folder's ``world`` is the access harness's).
department = api_conftest.world

FIRST_DAY, LAST_DAY = datetime.date(1, 1, 1), datetime.date(9999, 12, 31)


def _today() -> datetime.date:
    return timezone.localdate()


def too_early() -> st.SearchStrategy[datetime.date]:
    earliest = django_settings.EARLIEST_BUSINESS_DATE
    return st.dates(FIRST_DAY, earliest - datetime.timedelta(days=1))


def too_late(*, days_ahead: int = MAX_DAYS_AHEAD) -> st.SearchStrategy[datetime.date]:
    return st.dates(_today() + datetime.timedelta(days=days_ahead + 1), LAST_DAY)


def out_of_range(*, past_event: bool = False) -> st.SearchStrategy[datetime.date]:
    """Before the earliest business date, or after today (an event in the past) / a year ahead."""
    return st.one_of(too_early(), too_late(days_ahead=0 if past_event else MAX_DAYS_AHEAD))


def months_out_of_range() -> st.SearchStrategy[str]:
    """Months before the earliest business date or after this one, within the years 1900–2199
    the API's month field reads at all (the rest is refused by its pattern)."""
    earliest = django_settings.EARLIEST_BUSINESS_DATE.replace(day=1)
    early = st.dates(datetime.date(1900, 1, 1), earliest - datetime.timedelta(days=1))
    late = st.dates(_today() + datetime.timedelta(days=32), datetime.date(2199, 12, 31))
    return st.one_of(early, late).map(lambda d: f"{d:%Y-%m}")


fees_too_big = st.decimals(
    min_value=MONTHLY_FEE_MAX + Decimal("0.01"), max_value=Decimal("9999999999.99"), places=2
)
iso = str


def _counts() -> tuple:
    return (
        Contract.objects.count(),
        Contract.objects.exclude(termination_reason="").count(),
        LostCase.objects.count(),
        LostCase.objects.exclude(status__in=[CaseStatus.OPEN, CaseStatus.CLAIMED]).count(),
        Interaction.objects.count(),
        ClientAssignment.objects.count(),
        User.objects.count(),
        User.objects.filter(is_active=False).count(),
        Goal.objects.count(),
        KpiSnapshot.objects.count(),
    )


# --- the API --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Write:
    role: str
    method: str
    url: Callable  # world → path
    body: Callable  # (world, value) → payload
    field: str
    values: Callable  # () → strategy of out-of-range values


def _interaction(world, **fields) -> dict:
    return {
        "client": world.acme.pk,
        "kind": "call_out",
        "outcome": "reached",
        "summary": "Звонок",
        **fields,
    }


def _hire(**fields) -> dict:
    return {
        "username": "petrov",
        "password": "Long-enough-passphrase-42",
        "full_name": "Петров Пётр",
        "role": "client_manager",
        **fields,
    }


def _contract_url(world) -> str:
    return f"/api/v1/contracts/{world.contract.pk}/"


def _case_url(world) -> str:
    return f"/api/v1/lost-cases/{world.claimed_case.pk}/"


API_WRITES = {
    "contract starts_on": Write(
        "manager",
        "post",
        lambda w: "/api/v1/contracts/",
        lambda w, v: {
            "client": w.prospect.pk,
            "number": "Б-1",
            "starts_on": iso(v),
            "monthly_fee": "100",
        },
        "starts_on",
        out_of_range,
    ),
    "contract ends_on": Write(
        "manager",
        "post",
        lambda w: "/api/v1/contracts/",
        lambda w, v: {
            "client": w.prospect.pk,
            "number": "Б-1",
            "starts_on": "2024-01-01",
            "ends_on": iso(v),
            "monthly_fee": "100",
        },
        "ends_on",
        out_of_range,
    ),
    "contract monthly_fee": Write(
        "manager",
        "post",
        lambda w: "/api/v1/contracts/",
        lambda w, v: {
            "client": w.prospect.pk,
            "number": "Б-1",
            "starts_on": "2024-01-01",
            "monthly_fee": str(v),
        },
        "monthly_fee",
        lambda: fees_too_big,
    ),
    "terminate ends_on": Write(
        "manager",
        "post",
        lambda w: _contract_url(w) + "terminate/",
        lambda w, v: {"ends_on": iso(v), "reason": "competitor"},
        "ends_on",
        out_of_range,
    ),
    "change-fee effective_on": Write(
        "manager",
        "post",
        lambda w: _contract_url(w) + "change-fee/",
        lambda w, v: {"effective_on": iso(v), "monthly_fee": "777"},
        "effective_on",
        out_of_range,
    ),
    "change-fee monthly_fee": Write(
        "manager",
        "post",
        lambda w: _contract_url(w) + "change-fee/",
        lambda w, v: {"effective_on": iso(_today()), "monthly_fee": str(v)},
        "monthly_fee",
        lambda: fees_too_big,
    ),
    "interaction occurred_at": Write(
        "manager",
        "post",
        lambda w: "/api/v1/interactions/",
        lambda w, v: _interaction(w, occurred_at=f"{v.isoformat()}T12:00:00+07:00"),
        "occurred_at",
        lambda: st.one_of(too_early(), too_late(days_ahead=1)),
    ),
    "interaction duration_min": Write(
        "manager",
        "post",
        lambda w: "/api/v1/interactions/",
        lambda w, v: _interaction(w, duration_min=v),
        "duration_min",
        lambda: st.one_of(
            st.integers(max_value=-1), st.integers(min_value=CALL_DURATION_MAX_MIN + 1)
        ),
    ),
    "interaction next_contact_on": Write(
        "manager",
        "post",
        lambda w: "/api/v1/interactions/",
        lambda w, v: _interaction(w, next_contact_on=iso(v)),
        "next_contact_on",
        out_of_range,
    ),
    "start-free-month starts_on": Write(
        "return_manager",
        "post",
        lambda w: _case_url(w) + "start-free-month/",
        lambda w, v: {"starts_on": iso(v)},
        "starts_on",
        out_of_range,
    ),
    "return starts_on": Write(
        "return_manager",
        "post",
        lambda w: _case_url(w) + "return/",
        lambda w, v: {"manager": w.colleague.pk, "starts_on": iso(v), "monthly_fee": "100"},
        "starts_on",
        lambda: out_of_range(past_event=True),
    ),
    "return monthly_fee": Write(
        "return_manager",
        "post",
        lambda w: _case_url(w) + "return/",
        lambda w, v: {"manager": w.colleague.pk, "starts_on": iso(_today()), "monthly_fee": str(v)},
        "monthly_fee",
        lambda: fees_too_big,
    ),
    "decline declined_on": Write(
        "return_manager",
        "post",
        lambda w: _case_url(w) + "decline/",
        lambda w, v: {"reason": "Ушли к конкуренту", "declined_on": iso(v)},
        "declined_on",
        lambda: out_of_range(past_event=True),
    ),
    "reassign effective_on": Write(
        "mentor",
        "post",
        lambda w: f"/api/v1/clients/{w.acme.pk}/reassign/",
        lambda w, v: {"manager": w.colleague.pk, "effective_on": iso(v)},
        "effective_on",
        lambda: out_of_range(past_event=True),
    ),
    "staff hired_on": Write(
        "director",
        "post",
        lambda w: "/api/v1/staff/",
        lambda w, v: _hire(hired_on=iso(v)),
        "hired_on",
        out_of_range,
    ),
    "staff ramp_until": Write(
        "director",
        "post",
        lambda w: "/api/v1/staff/",
        lambda w, v: _hire(ramp_until=iso(v)),
        "ramp_until",
        out_of_range,
    ),
    "staff capacity": Write(
        "director",
        "post",
        lambda w: "/api/v1/staff/",
        lambda w, v: _hire(capacity=v),
        "capacity",
        lambda: st.one_of(st.integers(max_value=-1), st.integers(min_value=CAPACITY_MAX + 1)),
    ),
    "dismiss dismissed_on": Write(
        "director",
        "post",
        lambda w: f"/api/v1/staff/{w.colleague.pk}/dismiss/",
        lambda w, v: {"dismissed_on": iso(v)},
        "dismissed_on",
        lambda: out_of_range(past_event=True),
    ),
    "kpi recompute month_from": Write(
        "director",
        "post",
        lambda w: "/api/v1/kpi/recompute/",
        lambda w, v: {"month_from": v},
        "month_from",
        months_out_of_range,
    ),
    "kpi recompute month_to": Write(
        "director",
        "post",
        lambda w: "/api/v1/kpi/recompute/",
        lambda w, v: {"month_to": v},
        "month_to",
        months_out_of_range,
    ),
    "kpi summary as_of": Write(
        "director",
        "get",
        lambda w: "/api/v1/kpi/summary/",
        lambda w, v: {"as_of": iso(v)},
        "as_of",
        out_of_range,
    ),
}


def _send(client, write: Write, world, value):
    body = write.body(world, value)
    if write.method == "get":
        return client.get(write.url(world), body)
    return client.post(write.url(world), body, format="json")


@pytest.mark.parametrize("name", list(API_WRITES))
def test_api_refuses_out_of_range_values_naming_the_field(department, name):
    world = department
    write = API_WRITES[name]
    client = api_client(world.user(write.role))

    @SETTINGS
    @given(value=write.values())
    def check(value):
        before = _counts()

        response = _send(client, write, world, value)

        assert response.status_code == 400, (value, response.content)
        assert write.field in response.json(), (value, response.json())
        assert _counts() == before

    check()


def test_known_failures_are_400_now(department):
    """The reported cases: a free month in year 9999 (was a 500), far-off paid contracts, a free
    month in 2900, a decline in 2999, a next contact in 2999 and a call of 10^12 minutes."""
    world = department
    returner = api_client(world.return_manager)
    manager = api_client(world.manager)
    case = _case_url(world)
    before = _counts()
    answers = [
        returner.post(case + "start-free-month/", {"starts_on": "9999-12-01"}, format="json"),
        returner.post(case + "start-free-month/", {"starts_on": "2900-01-01"}, format="json"),
        returner.post(case + "decline/", {"reason": "нет", "declined_on": "2999-01-01"}),
        manager.post("/api/v1/interactions/", _interaction(world, next_contact_on="2999-01-01")),
        manager.post("/api/v1/interactions/", _interaction(world, duration_min=10**12)),
    ]
    for day in ("0001-01-01", "2900-01-01", "9999-12-31"):
        answers.append(
            manager.post(
                "/api/v1/contracts/",
                {"client": world.prospect.pk, "number": "Б-2", "starts_on": day, "monthly_fee": 1},
                format="json",
            )
        )
    assert [a.status_code for a in answers] == [400] * len(answers)
    assert _counts() == before


# --- the pages ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageWrite:
    role: str
    url: Callable  # world → path
    data: Callable  # (world, value) → form data
    form: str  # the form's name in the page's context
    field: str
    values: Callable


def _attempt(v_field: str, value) -> dict:
    return {
        "kind": "call_out",
        "outcome": "reached",
        "summary": "Звонок",
        "duration_min": "5",
        v_field: str(value),
    }


def _page_case(world) -> str:
    return f"/retention/{world.claimed_case.pk}/"


PAGE_WRITES = {
    "card call next_contact_on": PageWrite(
        "manager",
        lambda w: f"/clients/{w.acme.pk}/calls/",
        lambda w, v: {
            "call-kind": "call_out",
            "call-outcome": "reached",
            "call-summary": "Звонок",
            "call-next_contact_on": iso(v),
        },
        "call_form",
        "next_contact_on",
        out_of_range,
    ),
    "case attempt next_contact_on": PageWrite(
        "return_manager",
        lambda w: _page_case(w) + "attempt/",
        lambda w, v: _attempt("next_contact_on", iso(v)),
        "attempt_form",
        "next_contact_on",
        out_of_range,
    ),
    "case attempt duration_min": PageWrite(
        "return_manager",
        lambda w: _page_case(w) + "attempt/",
        lambda w, v: _attempt("duration_min", v),
        "attempt_form",
        "duration_min",
        lambda: st.one_of(
            st.integers(max_value=-1), st.integers(min_value=CALL_DURATION_MAX_MIN + 1)
        ),
    ),
    "case free month starts_on": PageWrite(
        "return_manager",
        lambda w: _page_case(w) + "free-month/",
        lambda w, v: {"starts_on": iso(v)},
        "free_month_form",
        "starts_on",
        out_of_range,
    ),
    "case return starts_on": PageWrite(
        "return_manager",
        lambda w: _page_case(w) + "return/",
        lambda w, v: {
            "manager": w.colleague.pk,
            "monthly_fee": "100",
            "starts_on": iso(v),
            "confirmed": "1",
        },
        "return_form",
        "starts_on",
        lambda: out_of_range(past_event=True),
    ),
    "case return monthly_fee": PageWrite(
        "return_manager",
        lambda w: _page_case(w) + "return/",
        lambda w, v: {
            "manager": w.colleague.pk,
            "monthly_fee": str(v),
            "starts_on": iso(_today()),
            "confirmed": "1",
        },
        "return_form",
        "monthly_fee",
        lambda: st.decimals(
            min_value=MONTHLY_FEE_MAX + Decimal("0.01"),
            max_value=Decimal("9999999999.99"),
            places=2,
        ),
    ),
    "case decline declined_on": PageWrite(
        "return_manager",
        lambda w: _page_case(w) + "decline/",
        lambda w, v: {"reason": "Ушли к конкуренту", "declined_on": iso(v), "confirmed": "1"},
        "decline_form",
        "declined_on",
        lambda: out_of_range(past_event=True),
    ),
    "team handover dismissed_on": PageWrite(
        "director",
        lambda w: f"/team/{w.colleague.pk}/handover/",
        lambda w, v: {"target": w.manager.pk, "dismissed_on": iso(v)},
        "form",
        "dismissed_on",
        lambda: out_of_range(past_event=True),
    ),
    "goal start_on": PageWrite(
        "director",
        lambda w: "/dashboard/goal/",
        lambda w, v: {
            "start_on": iso(v),
            "start_clients": 100,
            "target_on": iso(_today().replace(year=_today().year + 2)),
            "target_clients": 200,
        },
        "form",
        "start_on",
        out_of_range,
    ),
    "goal target_on": PageWrite(
        "director",
        lambda w: "/dashboard/goal/",
        lambda w, v: {
            "start_on": "2001-01-01",
            "start_clients": 100,
            "target_on": iso(v),
            "target_clients": 200,
        },
        "form",
        "target_on",
        lambda: st.one_of(too_early(), too_late(days_ahead=366 * GOAL_MAX_YEARS_AHEAD + 3)),
    ),
    "goal target_clients": PageWrite(
        "director",
        lambda w: "/dashboard/goal/",
        lambda w, v: {
            "start_on": "2024-01-01",
            "start_clients": 100,
            "target_on": "2027-01-01",
            "target_clients": v,
        },
        "form",
        "target_clients",
        lambda: st.integers(min_value=GOAL_CLIENTS_MAX + 1),
    ),
}


def _browser(user) -> Browser:
    browser = Browser()
    browser.force_login(user)
    return browser


@pytest.mark.parametrize("name", list(PAGE_WRITES))
def test_page_forms_refuse_out_of_range_values_naming_the_field(department, name):
    world = department
    write = PAGE_WRITES[name]
    browser = _browser(world.user(write.role))

    @SETTINGS
    @given(value=write.values())
    def check(value):
        before = _counts()

        response = browser.post(write.url(world), write.data(world, value))

        assert 400 <= response.status_code < 500, (value, response.status_code)
        assert write.field in response.context[write.form].errors, (
            value,
            response.context[write.form].errors,
        )
        assert _counts() == before

    check()


# --- any date, anywhere: never a 5xx ---------------------------------------------------------


any_date = st.dates(FIRST_DAY, LAST_DAY)


@pytest.mark.parametrize("name", [n for n in API_WRITES if "month" not in n or "fee" in n])
def test_api_date_fields_never_answer_5xx(department, name):
    world = department
    write = API_WRITES[name]
    client = api_client(world.user(write.role))

    @SETTINGS
    @given(day=any_date)
    def check(day):
        body = write.body(world, day)
        # Every date field of the payload gets the drawn day, the rest stays valid.
        for key in list(body):
            if key.endswith(("_on", "_until", "as_of")):
                body[key] = iso(day)
            elif key == "occurred_at":
                body[key] = f"{day.isoformat()}T00:00:00+00:00"
        with rolled_back():
            if write.method == "get":
                response = client.get(write.url(world), body)
            else:
                response = client.post(write.url(world), body, format="json")
        assert response.status_code < 500, (day, response.content)

    check()


@pytest.mark.parametrize("name", [n for n in PAGE_WRITES if n.split()[-1].endswith("_on")])
def test_page_date_fields_never_answer_5xx(department, name):
    world = department
    write = PAGE_WRITES[name]
    browser = _browser(world.user(write.role))

    @SETTINGS
    @given(day=any_date)
    def check(day):
        data = write.data(world, day)
        for key in list(data):
            if key.endswith("_on"):
                data[key] = iso(day)
        with rolled_back():
            response = browser.post(write.url(world), data)
        assert response.status_code < 500, (day, response.status_code)

    check()


# --- the commands ---------------------------------------------------------------------------


@pytest.mark.parametrize(("option", "name"), [("--from", "month_from"), ("--to", "month_to")])
def test_compute_kpis_refuses_out_of_range_months_naming_the_option(department, option, name):
    earliest = django_settings.EARLIEST_BUSINESS_DATE.replace(day=1)
    early = st.dates(FIRST_DAY, earliest - datetime.timedelta(days=1))
    late = st.dates(_today() + datetime.timedelta(days=32), LAST_DAY)

    @SETTINGS
    @given(day=st.one_of(early, late))
    def check(day):
        before = _counts()

        with translation.override("en"), pytest.raises(CommandError, match=option):
            call_command(
                "compute_kpis", option, f"{day.year:04d}-{day.month:02d}", stdout=StringIO()
            )

        assert _counts() == before

    check()


# --- the checks themselves ------------------------------------------------------------------


def test_business_date_check_bounds():
    today = datetime.date(2026, 12, 4)
    earliest = django_settings.EARLIEST_BUSINESS_DATE

    assert business_date_check(earliest, field="d", today=today) == earliest
    assert business_date_check(today, field="d", not_after_today=True, today=today) == today
    ahead = today + datetime.timedelta(days=MAX_DAYS_AHEAD)
    assert business_date_check(ahead, field="d", today=today) == ahead
    for bad, kwargs in [
        (earliest - datetime.timedelta(days=1), {}),
        (today + datetime.timedelta(days=1), {"not_after_today": True}),
        (ahead + datetime.timedelta(days=1), {}),
    ]:
        with pytest.raises(ValidationError) as error:
            business_date_check(bad, field="d", today=today, **kwargs)
        assert list(error.value.message_dict) == ["d"]


def test_earliest_business_date_follows_the_setting(settings):
    settings.EARLIEST_BUSINESS_DATE = datetime.date(2010, 1, 1)

    with pytest.raises(ValidationError) as error:
        business_date_check(datetime.date(2009, 12, 31), field="starts_on")

    assert "2010-01-01" in error.value.message_dict["starts_on"][0]
