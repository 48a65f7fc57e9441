"""Every endpoint × every role → the exact status (SPEC §1, §7; RELIABILITY R01–R04).

401 anonymous, 404 for an object outside the caller's visible set, 403 for an action the caller's
role (or relation to a visible object) does not allow, 400 for a body naming an object the caller
cannot use. A new endpoint without a row here fails ``test_every_schema_operation_has_a_row``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from staff.models import OWNER_ROLES
from tests.api.conftest import ROLES, World, api_client
from tests.factories import make_inn

ALL_OK = dict.fromkeys(ROLES[:-1], 200)


def only(ok: int, roles: tuple[str, ...], other: int) -> dict[str, int]:
    return {role: ok if role in roles else other for role in ROLES[:-1]}


WORKERS = ("director", "mentor", "manager")  # who works the manager's clients
CASE_WORKERS = ("director", "return_manager")


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # the schema's path template
    expect: dict[str, int]  # role → status; anonymous is always 401
    obj: str | None = None  # the World attribute whose id fills {id}
    body: Callable[[World, str], dict] = field(default=lambda world, role: {})

    def url(self, world: World) -> str:
        if self.obj is None:
            return self.path
        return self.path.replace("{id}", str(getattr(world, self.obj).pk))


def _today() -> str:
    return timezone.localdate().isoformat()


def _new_client(world: World, role: str) -> dict:
    user = world.user(role)
    keeps_book = user is not None and user.role in OWNER_ROLES
    return {
        "name": "МБОУ СОШ № 99",
        "inn": make_inn(9999),
        "kind": "school",
        "acquisition_channel": "inbound",
        "manager": user.pk if keeps_book else world.manager.pk,
    }


ROWS = [
    Row(
        "post",
        "/api/v1/auth/token/",
        dict.fromkeys(ROLES, 200),
        body=lambda w, role: {
            "username": (w.user(role) or w.director).username,
            "password": "pass-12345",
        },
    ),
    Row("get", "/api/v1/staff/", ALL_OK),
    Row(
        "post",
        "/api/v1/staff/",
        only(201, ("director",), 403),
        body=lambda w, role: {
            "username": "newbie",
            "password": "Long-enough-passphrase-42",
            "full_name": "Новичок Пётр",
            "role": "client_manager",
            "mentor": w.mentor.pk,
        },
    ),
    Row(
        "post",
        "/api/v1/staff/{id}/dismiss/",
        only(200, ("director",), 403),
        obj="colleague",
        body=lambda w, role: {"handover": "spread"},
    ),
    Row("get", "/api/v1/clients/", ALL_OK),
    Row(
        "post",
        "/api/v1/clients/",
        {**dict.fromkeys(ROLES[:-1], 201), "return_manager": 403},
        body=_new_client,
    ),
    Row("get", "/api/v1/clients/{id}/", only(200, WORKERS, 404), obj="acme"),
    Row(
        "patch",
        "/api/v1/clients/{id}/",
        only(200, WORKERS, 404),
        obj="acme",
        body=lambda w, role: {"city": "Ачинск"},
    ),
    Row(
        "post",
        "/api/v1/clients/{id}/reassign/",
        {**only(200, ("director", "mentor"), 403), "sales_manager": 404},
        obj="acme",
        body=lambda w, role: {"manager": w.colleague.pk},
    ),
    Row(
        "post",
        "/api/v1/clients/reassign/",
        # A sales manager may hand over only their own won clients: acme is not one they see.
        {**only(200, ("director", "mentor"), 403), "sales_manager": 400},
        body=lambda w, role: {"clients": [w.acme.pk], "manager": w.colleague.pk},
    ),
    Row("get", "/api/v1/contracts/", ALL_OK),
    Row(
        "post",
        "/api/v1/contracts/",
        {**only(201, WORKERS, 400), "return_manager": 403},
        body=lambda w, role: {
            "client": w.prospect.pk,
            "number": "АО-777",
            "starts_on": "2026-01-01",
            "monthly_fee": "5000.00",
        },
    ),
    Row("get", "/api/v1/contracts/{id}/", only(200, WORKERS, 404), obj="contract"),
    Row(
        "post",
        "/api/v1/contracts/{id}/change-fee/",
        {**only(201, WORKERS, 404), "return_manager": 403},
        obj="contract",
        body=lambda w, role: {"effective_on": "2025-01-01", "monthly_fee": "6000.00"},
    ),
    Row(
        "post",
        "/api/v1/contracts/{id}/terminate/",
        {**only(200, WORKERS, 404), "return_manager": 403},
        obj="contract",
        body=lambda w, role: {"ends_on": "2025-12-31", "reason": "competitor"},
    ),
    Row("get", "/api/v1/interactions/", ALL_OK),
    Row(
        "post",
        "/api/v1/interactions/",
        only(201, WORKERS, 400),
        body=lambda w, role: {"client": w.acme.pk, "kind": "call_out", "outcome": "reached"},
    ),
    Row("get", "/api/v1/requests/", ALL_OK),
    Row(
        "post",
        "/api/v1/requests/",
        only(201, WORKERS, 400),
        body=lambda w, role: {"client": w.acme.pk, "topic": "Не печатается счёт"},
    ),
    Row("get", "/api/v1/requests/{id}/", only(200, WORKERS, 404), obj="open_request"),
    Row("post", "/api/v1/requests/{id}/resolve/", only(200, WORKERS, 404), obj="open_request"),
    Row(
        "post",
        "/api/v1/requests/{id}/refuse/",
        only(200, WORKERS, 404),
        obj="open_request",
        body=lambda w, role: {"reason": "Нужна доработка конфигурации"},
    ),
    Row(
        "post",
        "/api/v1/requests/{id}/approve-refusal/",
        {**only(200, WORKERS, 404), "manager": 403},
        obj="pending_request",
    ),
    Row(
        "post",
        "/api/v1/requests/{id}/reject-refusal/",
        {**only(200, WORKERS, 404), "manager": 403},
        obj="pending_request",
    ),
    Row("get", "/api/v1/referrals/", ALL_OK),
    Row(
        "post",
        "/api/v1/referrals/",
        only(201, WORKERS, 400),
        body=lambda w, role: {"referrer": w.acme.pk, "organisation": "МБОУ СОШ № 12"},
    ),
    # A lead is worked by whoever sees it: its owner (the manager), their mentor, the director.
    Row("get", "/api/v1/referrals/{id}/", only(200, WORKERS, 404), obj="referral"),
    Row(
        "post",
        "/api/v1/referrals/{id}/move/",
        only(200, WORKERS, 404),
        obj="referral",
        body=lambda w, role: {"status": "contacted", "next_step_on": _today()},
    ),
    Row(
        "post",
        "/api/v1/referrals/{id}/lose/",
        only(200, WORKERS, 404),
        obj="referral",
        body=lambda w, role: {"reason": "Выбрали другого подрядчика"},
    ),
    Row(
        "post",
        "/api/v1/referrals/{id}/win/",
        only(201, WORKERS, 404),
        obj="referral",
        body=lambda w, role: {"kind": "kindergarten", "inn": make_inn(9998)},
    ),
    # Giving a lead to someone else is the director's.
    Row(
        "post",
        "/api/v1/referrals/{id}/give/",
        only(200, ("director",), 403),
        obj="referral",
        body=lambda w, role: {"owner": w.sales_manager.pk},
    ),
    Row("get", "/api/v1/tasks/", ALL_OK),
    # The director gives anyone a task, a mentor their group, anyone else only themselves.
    Row(
        "post",
        "/api/v1/tasks/",
        only(201, WORKERS, 400),
        body=lambda w, role: {
            "assignee": w.manager.pk,
            "title": "Позвонить главбуху",
            "due_on": _today(),
        },
    ),
    # The director closes anyone's task, on the card and in the API alike (clients.access).
    Row("post", "/api/v1/tasks/{id}/done/", only(200, ("manager", "director"), 404), obj="task"),
    Row("get", "/api/v1/lost-cases/", ALL_OK),
    Row(
        "get",
        "/api/v1/lost-cases/{id}/",
        only(200, (*WORKERS, "return_manager"), 404),
        obj="claimed_case",
    ),
    Row("post", "/api/v1/lost-cases/{id}/claim/", only(200, CASE_WORKERS, 403), obj="open_case"),
    Row(
        "post",
        "/api/v1/lost-cases/{id}/start-free-month/",
        only(200, CASE_WORKERS, 403),
        obj="claimed_case",
    ),
    Row(
        "post",
        "/api/v1/lost-cases/{id}/return/",
        only(200, CASE_WORKERS, 403),
        obj="claimed_case",
        body=lambda w, role: {
            "manager": w.colleague.pk,
            "starts_on": _today(),
            "monthly_fee": "7000.00",
        },
    ),
    # No agreed return on the case: the holder is told so (409); nobody else may act.
    Row(
        "post",
        "/api/v1/lost-cases/{id}/withdraw-return/",
        only(409, CASE_WORKERS, 403),
        obj="claimed_case",
    ),
    Row(
        "post",
        "/api/v1/lost-cases/{id}/decline/",
        only(200, CASE_WORKERS, 403),
        obj="claimed_case",
        body=lambda w, role: {"reason": "Ушли к конкуренту насовсем"},
    ),
    Row("get", "/api/v1/kpi/monthly/", ALL_OK),
    Row("get", "/api/v1/kpi/summary/", only(200, ("director",), 403)),
    Row("post", "/api/v1/kpi/recompute/", only(202, ("director",), 403)),
    # SPEC §16: the planner is the director's and the mentors'; only the director saves.
    Row("post", "/api/v1/kpi/planner/", only(200, ("director", "mentor"), 403)),
    Row("get", "/api/v1/kpi/planner/scenarios/", only(200, ("director", "mentor"), 403)),
    Row(
        "post",
        "/api/v1/kpi/planner/scenarios/",
        only(201, ("director",), 403),
        body=lambda w, role: {"name": "Без потерь", "inputs": {"churn_controllable": 0}},
    ),
    Row(
        "delete",
        "/api/v1/kpi/planner/scenarios/{id}/",
        only(204, ("director",), 403),
        obj="scenario",
    ),
]

CASES = [
    pytest.param(row, role, id=f"{row.method.upper()} {row.path} as {role}")
    for row in ROWS
    for role in ROLES
]


@pytest.mark.parametrize(("row", "role"), CASES)
def test_endpoint_answers_each_role(world, row, role):
    client = api_client(world.user(role))
    response = getattr(client, row.method)(row.url(world), row.body(world, role), format="json")
    expected = row.expect.get(role, 401)
    assert response.status_code == expected, response.content


def test_every_schema_operation_has_a_row():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = {
        (path, method)
        for path, methods in schema["paths"].items()
        for method in methods
        if method in {"get", "post", "put", "patch", "delete"}
    }
    table = {(row.path, row.method) for row in ROWS}
    assert operations - table == set(), "endpoints without a permission row"
    assert table - operations == set(), "rows for endpoints the schema does not have"


def test_table_rows_are_unique_and_cover_every_role():
    assert len({(row.path, row.method) for row in ROWS}) == len(ROWS)
    for row in ROWS:
        assert set(row.expect) | {"anonymous"} >= set(ROLES), row.path


def test_anonymous_gets_401_with_the_token_challenge(world):
    response = api_client().get("/api/v1/clients/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_schema_and_docs_are_public(db):
    client = api_client()
    assert client.get("/api/v1/schema/").status_code == 200
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    assert b"/static/drf_spectacular_sidecar/" in docs.content
