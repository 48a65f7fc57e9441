"""The clients list page /clients/ (SPEC §6): visibility per role, filters, and query count."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clients.models import AcquisitionChannel, Client, ClientKind, ClientStatus
from retention.models import CaseStatus
from tests.factories import ClientFactory, ContractFactory, LostCaseFactory, make_inn


def _row_ids(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-client-id="(\d+)"', response.content.decode())]


def _names(response) -> list[str]:
    html = response.content.decode()
    return re.findall(r'<td class="client-name"><a href="/clients/\d+/">([^<]+)</a>', html)


@pytest.fixture
def book(manager, colleague, outsider, mentor, sales_manager):
    """Clients spread over the department, named so that the name order is obvious."""
    return {
        "anna_1": ClientFactory(name="А-школа Анны", manager=manager),
        "anna_2": ClientFactory(
            name="Б-сад Анны", manager=manager, kind=ClientKind.KINDERGARTEN, city="Ачинск"
        ),
        "boris": ClientFactory(name="В-больница Бориса", manager=colleague),
        "oleg": ClientFactory(name="Г-администрация Олега", manager=mentor),
        "gleb": ClientFactory(name="Д-школа Глеба", manager=outsider),
        "zhanna": ClientFactory(name="Е-школа Жанны", manager=sales_manager),
    }


def test_anonymous_visitor_is_sent_to_login(client, db):
    response = client.get("/clients/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/clients/"


@pytest.mark.parametrize(
    ("role_fixture", "visible"),
    [
        ("director", ["anna_1", "anna_2", "boris", "oleg", "gleb", "zhanna"]),
        ("mentor", ["anna_1", "anna_2", "boris", "oleg"]),
        ("manager", ["anna_1", "anna_2"]),
        ("colleague", ["boris"]),
        ("outsider", ["gleb"]),
        ("sales_manager", ["zhanna"]),
        ("return_manager", ["gleb"]),
    ],
)
def test_each_role_sees_exactly_its_clients(client, request, book, role_fixture, visible):
    LostCaseFactory(client=book["gleb"], status=CaseStatus.OPEN)
    client.force_login(request.getfixturevalue(role_fixture))

    response = client.get("/clients/")

    assert response.status_code == 200
    assert _row_ids(response) == [book[key].pk for key in visible]
    assert 'data-testid="clients-table"' in response.content.decode()
    assert 'data-testid="clients-filter"' in response.content.decode()


def test_rows_show_the_columns_and_the_current_fee(client, manager, director):
    today = timezone.localdate()
    paid = ClientFactory(name="МБОУ СОШ № 7", inn=make_inn(7), manager=manager, city="Канск")
    ContractFactory(
        client=paid,
        starts_on=datetime.date(2024, 1, 1),
        ends_on=today.replace(day=1) - datetime.timedelta(days=1),
        monthly_fee=Decimal("4000"),
    )
    ContractFactory(client=paid, starts_on=today.replace(day=1), monthly_fee=Decimal("12500.50"))
    Client.objects.filter(pk=paid.pk).update(status=ClientStatus.ACTIVE)
    ended = ClientFactory(name="МБДОУ № 8", manager=manager)
    ContractFactory(
        client=ended, starts_on=datetime.date(2024, 1, 1), ends_on=datetime.date(2025, 1, 31)
    )
    client.force_login(director)

    html = client.get("/clients/").content.decode()

    row = re.search(rf'data-client-id="{paid.pk}">(.*?)</tr>', html, re.S).group(1)
    assert f'<a href="/clients/{paid.pk}/">МБОУ СОШ № 7</a>' in row
    assert f'<td class="mono">{make_inn(7)}</td>' in row
    assert "Школа" in row
    assert "Канск" in row
    assert '<span class="badge badge-active" data-status="active">Активен</span>' in row
    assert "Клиент-менеджер Анна" in row
    assert '<td class="num">12\xa0500,50&nbsp;₽</td>' in row
    other = re.search(rf'data-client-id="{ended.pk}">(.*?)</tr>', html, re.S).group(1)
    assert '<td class="num"><span class="muted">—</span></td>' in other


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=active", ["anna_2"]),
        ("kind=kindergarten", ["anna_2"]),
        ("acquisition_channel=referral", ["boris"]),
        ("city=Ачинск", ["anna_2"]),
        ("search=Бориса", ["boris"]),
        ("search=школа", ["anna_1", "gleb", "zhanna"]),
        ("status=active&kind=school", []),
        ("ordering=manager", ["anna_1", "anna_2", "boris", "gleb", "oleg", "zhanna"]),
        ("ordering=-created_at", ["zhanna", "gleb", "oleg", "boris", "anna_2", "anna_1"]),
        ("ordering=status", ["anna_2", "anna_1", "boris", "oleg", "gleb", "zhanna"]),
    ],
)
def test_filters_and_ordering(client, director, book, query, expected):
    Client.objects.filter(pk=book["anna_2"].pk).update(status=ClientStatus.ACTIVE)
    Client.objects.filter(pk=book["boris"].pk).update(
        acquisition_channel=AcquisitionChannel.REFERRAL, referred_by=book["anna_1"]
    )
    client.force_login(director)

    response = client.get(f"/clients/?{query}")

    assert response.status_code == 200
    assert _row_ids(response) == [book[key].pk for key in expected]


def test_search_by_the_beginning_of_the_inn(client, director, manager):
    wanted = ClientFactory(inn=make_inn(501), manager=manager)
    ClientFactory(inn=make_inn(602), manager=manager)
    client.force_login(director)

    by_prefix = client.get(f"/clients/?search={make_inn(501)[:9]}")
    by_middle = client.get(f"/clients/?search={make_inn(501)[3:]}")

    assert _row_ids(by_prefix) == [wanted.pk]
    assert _row_ids(by_middle) == []


def test_manager_filter_offers_only_visible_managers(client, mentor, book):
    client.force_login(mentor)

    response = client.get(f"/clients/?manager={book['boris'].manager_id}")

    html = response.content.decode()
    options = re.search(r'<select name="manager".*?</select>', html, re.S).group(0)
    assert re.findall(r'<option value="(\d*)"', options) == [
        "",
        str(book["anna_1"].manager_id),
        str(book["boris"].manager_id),
        str(book["oleg"].manager_id),
    ]
    assert "Клиент-менеджер Глеб" not in options
    assert _row_ids(response) == [book["boris"].pk]


def test_manager_of_another_group_is_an_invalid_filter_value(client, mentor, book):
    client.force_login(mentor)

    response = client.get(f"/clients/?manager={book['gleb'].manager_id}")

    assert response.status_code == 200
    assert 'data-testid="filter-errors"' in response.content.decode()
    assert _row_ids(response) == []


@pytest.mark.parametrize(
    "query", ["status=sleeping", "ordering=password", "manager=abc", "kind=%00"]
)
def test_invalid_filter_value_gives_a_clear_message(client, director, book, query):
    client.force_login(director)

    response = client.get(f"/clients/?{query}")

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="filter-errors"' in html
    assert "В фильтре есть недопустимые значения" in html
    assert _row_ids(response) == []


def test_pages_hold_fifty_clients(client, director, manager):
    ClientFactory.create_batch(55, manager=manager)
    client.force_login(director)

    first = client.get("/clients/")
    second = client.get("/clients/?page=2")
    beyond = client.get("/clients/?page=99")

    assert len(_row_ids(first)) == 50
    assert len(_row_ids(second)) == 5
    assert _row_ids(beyond) == _row_ids(second)
    assert "55 клиентов" in first.content.decode()
    assert 'href="?page=2" rel="next"' in first.content.decode()


def test_page_links_keep_the_filter(client, director, manager):
    ClientFactory.create_batch(51, manager=manager, kind=ClientKind.HOSPITAL)
    client.force_login(director)

    html = client.get("/clients/?kind=hospital&ordering=-created_at").content.decode()

    assert 'href="?kind=hospital&amp;ordering=-created_at&amp;page=2" rel="next"' in html


def test_htmx_request_gets_only_the_results_fragment(client, manager, book):
    client.force_login(manager)

    response = client.get("/clients/?kind=kindergarten", headers={"HX-Request": "true"})

    html = response.content.decode()
    assert html.lstrip().startswith('<div class="card" id="client-results"')
    assert "<html" not in html
    assert _row_ids(response) == [book["anna_2"].pk]


def _queries_for_page(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/clients/?ordering=manager")
    assert response.status_code == 200
    return len(queries)


def test_query_count_does_not_grow_with_the_number_of_clients(client, director, manager, colleague):
    client.force_login(director)
    for owner in (manager, colleague):
        for contract in ContractFactory.create_batch(2, client__manager=owner):
            Client.objects.filter(pk=contract.client_id).update(status=ClientStatus.ACTIVE)
    ClientFactory(manager=manager)
    small = _queries_for_page(client)

    for owner in (manager, colleague):
        ContractFactory.create_batch(20, client__manager=owner)
        ClientFactory.create_batch(5, manager=owner)
    large = _queries_for_page(client)

    assert Client.objects.count() == 55
    assert small == large
    assert large <= 8
