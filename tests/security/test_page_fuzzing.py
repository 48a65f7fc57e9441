"""Every query parameter of the HTML pages is fuzzed, and no page answers 5xx (RELIABILITY R21).

Schemathesis covers the API (R38); here Hypothesis sends the pages' filters, searches, orderings,
page numbers, periods and table sorts arbitrary text: SQL metacharacters, numbers too large for
any column, NUL bytes (PostgreSQL cannot store them), invalid UTF-8, and any Unicode; with and
without htmx. A bad value is refused with the page's message or ignored, never a server error.
Runs on SQLite and PostgreSQL like the rest of the suite.
"""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from urllib.parse import quote, urlencode

import pytest
from django.test import Client as Browser
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from clients.filters import BOOK_ORDERINGS, ORDERINGS
from clients.models import ClientRequest, ClientStatus
from core.dates import add_months
from kpi.dashboard_selectors import SORT_COLUMNS
from kpi.forms import PERIOD_CHOICES
from kpi.models import KpiSnapshot, Scope
from retention.services import contract_create, contract_terminate
from staff.models import Role
from tests.factories import ClientFactory, InteractionFactory, UserFactory

HTMX = {"HTTP_HX_REQUEST": "true"}

# The parameters each page reads (clients/filters.py, retention/filters.py, the views and
# kpi/dashboard_selectors.py), beside one no page knows.
CLIENT_FILTERS = ["search", "status", "kind", "city", "ordering", "page"]
DASHBOARD_PARAMS = ["period", "task"] + [
    f"{table}_{part}" for table in SORT_COLUMNS for part in ("sort", "page")
]
PAGES = {
    "clients": ("director", "/clients/", [*CLIENT_FILTERS, "acquisition_channel", "manager"]),
    "my": ("manager", "/my/", [*CLIENT_FILTERS, "last_contact", "overdue"]),
    "team": ("director", "/team/", ["group", "members_page", "refusals_page", "overdue_page"]),
    "team-mentor": ("mentor", "/team/", ["group", "members_page", "refusals_page", "overdue_page"]),
    "retention": (
        "returner",
        "/retention/",
        ["status", "reason", "region", "lost_by", "client", "page"],
    ),
    "retention-director": (
        "director",
        "/retention/",
        ["status", "region", "lost_by", "client", "page"],
    ),
    "dashboard": ("director", "/dashboard/", DASHBOARD_PARAMS),
    "dashboard-mentor": ("mentor", "/dashboard/", DASHBOARD_PARAMS),
    "card": ("manager", "/clients/{client}/", ["limit"]),
    "recompute-status": ("director", "/dashboard/recompute/{task}/", ["period", "polls"]),
    "export": ("director", "/dashboard/export/managers.csv", ["period"]),
}
HTMX_TARGETS = [f"{table}-card" for table in SORT_COLUMNS] + ["results", "book", "client-timeline"]

# Values that have broken pages elsewhere.
NASTY = [
    "a\x00b",  # PostgreSQL refuses NUL in text
    "9" * 30,  # past every integer column
    "-" + "9" * 30,
    "9" * 5000,  # past the length int() reads
    "-1",
    "' OR 1=1 --",
    '%_\\"',  # LIKE wildcards, an escape and a quote
    "١٢",  # Arabic-Indic digits: int() reads them
    "\ud800",  # a lone surrogate, not UTF-8 at all
    "--name",
]

sql_text = st.sampled_from(
    ["'", '"', ";", "--", "/*", "*/", "%", "_", "\\", "\x00", "OR 1=1", "UNION SELECT"]
)
huge_numbers = st.integers(min_value=-(10**40), max_value=10**40).map(str)
valid_choices = st.sampled_from(
    [
        *ORDERINGS,
        *BOOK_ORDERINGS,
        *(key for key, _label in PERIOD_CHOICES),
        *(
            f"{sign}{column.key}"
            for columns in SORT_COLUMNS.values()
            for column in columns
            for sign in ("", "-")
        ),
        "active",
        "declined",
        "competitor",
        "late",
        "yes",
    ]
)
values = st.one_of(
    st.sampled_from(NASTY),
    huge_numbers,
    valid_choices,
    st.lists(st.one_of(sql_text, st.text(max_size=4)), max_size=5).map("".join),
    st.text(max_size=40),  # any Unicode, lone surrogates and NUL included
)

FUZZ = settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _encode(value: str) -> str:
    # Lone surrogates cannot be UTF-8: a browser would send the replacement character's bytes.
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


@pytest.fixture
def department(db, director, mentor, manager, return_manager):
    """A small department every page has something to show for: clients with calls and an
    overdue request, a lost client's case, and KPI snapshots for the dashboard tables."""
    now = timezone.now()
    today = timezone.localdate()
    clients = [ClientFactory(manager=manager, status=ClientStatus.ACTIVE) for _n in range(3)]
    for client in clients:
        InteractionFactory(client=client)
    ClientRequest.objects.create(
        client=clients[0],
        logged_by=manager,
        topic="Обновление",
        opened_at=now - datetime.timedelta(days=5),
        due_at=now - datetime.timedelta(days=1),
    )
    lost = ClientFactory(manager=manager)
    contract = contract_create(
        actor=manager,
        client=lost,
        number="АО-9",
        starts_on=datetime.date(2024, 1, 1),
        monthly_fee="5000",
    )
    contract_terminate(
        actor=manager,
        contract=contract,
        ends_on=today - datetime.timedelta(days=5),
        reason="competitor",
    )
    month = today.replace(day=1)
    for back in range(3):
        at = add_months(month, -back)
        KpiSnapshot.objects.create(month=at, scope=Scope.DEPARTMENT, computed_at=now, base_end=10)
        KpiSnapshot.objects.create(month=at, scope=Scope.GROUP, scope_id=mentor.pk, computed_at=now)
        KpiSnapshot.objects.create(
            month=at,
            scope=Scope.MANAGER,
            scope_id=manager.pk,
            computed_at=now,
            mrr_end=Decimal("1"),
        )
    UserFactory(role=Role.CLIENT_MANAGER, mentor=mentor)
    users = {"director": director, "mentor": mentor, "manager": manager, "returner": return_manager}
    browsers = {}
    for role, user in users.items():
        browsers[role] = Browser()
        browsers[role].force_login(user)
    return {"browsers": browsers, "client": clients[0].pk, "task": uuid.uuid4()}


def _get(department, page: str, query: str, *, htmx_target: str | None = None):
    role, path, _params = PAGES[page]
    path = path.format(client=department["client"], task=department["task"])
    headers = {} if htmx_target is None else {**HTMX, "HTTP_HX_TARGET": htmx_target}
    return department["browsers"][role].get(path, QUERY_STRING=query, **headers)


def _assert_no_server_error(response, page: str, query: str) -> None:
    assert response.status_code < 500, f"{page}?{query} answered {response.status_code}"


@pytest.mark.parametrize("page", PAGES)
def test_every_parameter_survives_the_nasty_values(department, page):
    for name in PAGES[page][2]:
        for value in NASTY:
            query = f"{name}={_encode(value)}"
            _assert_no_server_error(_get(department, page, query), page, query)


@pytest.mark.parametrize("page", PAGES)
def test_fuzzed_queries_never_get_a_server_error(department, page):
    names = st.one_of(st.sampled_from(PAGES[page][2]), st.text(max_size=8))

    @FUZZ
    @given(
        pairs=st.lists(st.tuples(names, values), max_size=5),
        htmx_target=st.none() | st.sampled_from(HTMX_TARGETS),
    )
    def fuzz(pairs, htmx_target):
        query = "&".join(f"{_encode(name)}={_encode(value)}" for name, value in pairs)
        response = _get(department, page, query, htmx_target=htmx_target)
        _assert_no_server_error(response, page, query)

    fuzz()


@pytest.mark.parametrize("page", PAGES)
def test_invalid_utf8_in_the_query_string_is_no_server_error(department, page):
    for name in PAGES[page][2]:
        query = f"{name}=%ff%fe%00%c3%28&{name}=1"
        _assert_no_server_error(_get(department, page, query), page, query)


def test_a_nul_byte_in_a_search_is_refused_with_a_message(department):
    """PostgreSQL cannot compare text holding NUL: the filter says so instead of failing."""
    response = _get(department, "clients", urlencode({"search": "школа\x00"}))

    assert response.status_code == 200
    assert "search" in response.context["filter"].errors
    assert list(response.context["page"].object_list) == []
