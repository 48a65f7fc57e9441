"""The IDOR matrix (RELIABILITY §2.0 step 4; R01–R05): every role of the fixture world, logged in
for real, against the independent oracle of ``tests.security.oracle``."""

from __future__ import annotations

import re
import uuid

import pytest
from django.conf import settings
from django.forms.models import model_to_dict
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from clients.models import Client, ClientRequest, Contract, Interaction, Referral
from core.api import RoleAllowed
from retention.models import LostCase
from staff.models import User
from tests.factories import make_inn
from tests.security.conftest import ROLES, World, login

# Operations anonymous may call (R01): getting a token, the schema and its docs.
PUBLIC_OPERATIONS = {
    ("/api/v1/auth/token/", "post"),
    ("/api/v1/schema/", "get"),
    ("/api/v1/docs/", "get"),
}
SIGNED_IN = [role for role in ROLES if role not in ("anonymous", "inactive")]


def _ids(client: APIClient, url: str, params: dict | None = None) -> list[int]:
    """Ids over every page of a list endpoint."""
    ids: list[int] = []
    response = client.get(url, params or {})
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        ids += [row["id"] for row in body["results"]]
        if not body["next"]:
            break
        response = client.get(body["next"])
    assert len(ids) == body["count"]
    return ids


def _snapshot(obj) -> dict:
    obj.refresh_from_db()
    return model_to_dict(obj)


# --- R01: deny by default ---------------------------------------------------------------------


def _operations() -> list[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        (path, method)
        for path, methods in schema["paths"].items()
        for method in methods
        if method in {"get", "post", "put", "patch", "delete"}
    )


@pytest.mark.parametrize("role", ["anonymous", "inactive"])
def test_every_operation_refuses_anonymous_and_deactivated_users(world, role):
    client = login(world, role)
    refused = {}
    for path, method in _operations():
        if (path, method) in PUBLIC_OPERATIONS:
            continue
        url = re.sub(r"\{[^}]+\}", str(world.lost[0].pk), path)
        response = getattr(client, method)(url, {}, format="json")
        if response.status_code != 401:
            refused[(path, method)] = response.status_code
    assert refused == {}


def test_a_deactivated_users_token_is_refused_and_no_new_token_is_issued(world):
    gone = world.user("inactive")
    token = Token.objects.create(user=gone)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get("/api/v1/clients/").status_code == 401
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": gone.username, "password": "pass-12345"}
    )
    assert response.status_code == 400
    assert Token.objects.filter(user=gone).count() == 1


def test_api_settings_deny_by_default_without_basic_auth():
    api = settings.REST_FRAMEWORK
    assert api["DEFAULT_PERMISSION_CLASSES"] == ["core.api.RoleAllowed"]
    assert api["DEFAULT_AUTHENTICATION_CLASSES"] == [
        # DRF's token check, which also names the actor of the field history (R24).
        "core.api.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ]


def test_every_viewset_keeps_the_role_gate():
    from crm.api_router import router

    for prefix, viewset, _basename in router.registry:
        classes = viewset.permission_classes
        assert any(issubclass(cls, RoleAllowed) for cls in classes), prefix
        assert RoleAllowed().has_permission(_Anonymous(), viewset()) is False


class _Anonymous:
    class user:
        is_authenticated = False


# --- R02: the same rows on every read path ------------------------------------------------------


@pytest.mark.parametrize("role", SIGNED_IN)
def test_list_endpoints_show_exactly_the_oracle_set(world, role):
    client, user, oracle = login(world, role), world.user(role), world.oracle()
    visible = oracle.visible(user)
    assert set(_ids(client, "/api/v1/clients/")) == visible
    expected = {
        "contracts": {c.pk for c in Contract.objects.all() if oracle.can(user, "view", c)},
        "interactions": {i.pk for i in Interaction.objects.all() if oracle.can(user, "view", i)},
        "requests": {r.pk for r in ClientRequest.objects.all() if oracle.can(user, "view", r)},
        "lost-cases": {c.pk for c in LostCase.objects.all() if oracle.can(user, "view", c)},
        "referrals": {r.pk for r in Referral.objects.all() if oracle.can(user, "view", r)},
    }
    for resource, ids in expected.items():
        listed = _ids(client, f"/api/v1/{resource}/")
        assert len(listed) == len(set(listed)), resource
        assert set(listed) == ids, resource


def test_the_oracle_sets_are_the_ones_the_spec_describes(world):
    """A guard on the oracle itself: exact sizes of the fixture world."""
    oracle = world.oracle()
    sizes = {role: len(oracle.visible(world.user(role))) for role in ROLES if role != "anonymous"}
    assert sizes == {
        "director": 16,
        "mentor": 6,
        "mentor2": 9,
        "manager": 3,
        "colleague": 3,
        "other_manager": 3,
        "other_manager2": 6,
        "return_manager": 3,
        "sales_manager": 1,
        "inactive": 0,
    }
    assert len(oracle.editable(world.user("return_manager"))) == 1


@pytest.mark.parametrize("role", SIGNED_IN)
def test_the_clients_page_lists_exactly_the_oracle_set(world, role):
    client, user = login(world, role), world.user(role)
    response = client.get("/clients/")
    assert response.status_code == 200
    shown = {int(pk) for pk in re.findall(r'href="/clients/(\d+)/"', response.content.decode())}
    assert shown == world.oracle().visible(user)


@pytest.mark.parametrize("role", SIGNED_IN)
def test_invisible_objects_are_404_and_visible_ones_200_on_every_detail_path(world, role):
    client, user, oracle = login(world, role), world.user(role), world.oracle()
    wrong = []
    for target in Client.objects.all():
        code = 200 if oracle.can(user, "view", target) else 404
        urls = [f"/api/v1/clients/{target.pk}/", f"/clients/{target.pk}/"]
        urls += [f"/api/v1/contracts/{c.pk}/" for c in target.contracts.all()]
        urls += [f"/api/v1/requests/{r.pk}/" for r in target.requests.all()]
        urls += [f"/api/v1/lost-cases/{c.pk}/" for c in target.lost_cases.all()]
        wrong += [(url, got) for url in urls if (got := client.get(url).status_code) != code]
    assert wrong == []


@pytest.mark.parametrize("role", ["anonymous", "inactive"])
def test_pages_send_signed_out_users_to_the_login_page(world, role):
    client = login(world, role)
    for url in ("/clients/", f"/clients/{world.lost[0].pk}/", "/my/", "/team/", "/retention/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert (
            response["Location"].startswith("/accounts/login/") or "login" in response["Location"]
        ), url


# --- R03: visibility follows ownership at once --------------------------------------------------


def test_after_a_reassignment_the_old_owner_gets_404_and_the_new_one_200(world):
    target = world.clients["manager"][0]
    old, new = login(world, "manager"), login(world, "colleague")
    assert old.get(f"/api/v1/clients/{target.pk}/").status_code == 200
    assert new.get(f"/api/v1/clients/{target.pk}/").status_code == 404
    response = login(world, "director").post(
        f"/api/v1/clients/{target.pk}/reassign/",
        {"manager": world.user("colleague").pk},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert old.get(f"/api/v1/clients/{target.pk}/").status_code == 404
    assert old.get(f"/clients/{target.pk}/").status_code == 404
    assert new.get(f"/api/v1/clients/{target.pk}/").status_code == 200
    assert target.pk not in _ids(old, "/api/v1/clients/")


def test_moving_a_manager_to_another_mentor_moves_the_book_at_once(world):
    moved = world.user("other_manager")
    target = world.clients["other_manager"][0]
    mentor, mentor2 = login(world, "mentor"), login(world, "mentor2")
    assert mentor.get(f"/api/v1/clients/{target.pk}/").status_code == 404
    moved.mentor = world.user("mentor")
    moved.save(update_fields=["mentor"])
    assert mentor.get(f"/api/v1/clients/{target.pk}/").status_code == 200
    assert mentor2.get(f"/api/v1/clients/{target.pk}/").status_code == 404


# --- R04: read, edit and reassign are scoped separately -------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_patching_a_client_follows_the_oracle_and_a_refusal_changes_nothing(world, role):
    client, user, oracle = login(world, role), world.user(role), world.oracle()
    wrong = []
    for target in world.all_clients:
        before = _snapshot(target)
        if user is None or not user.is_active:
            expected = 401
        elif not oracle.can(user, "view", target):
            expected = 404
        elif not oracle.can(user, "edit", target):
            expected = 403
        else:
            expected = 200
        city = f"Город {uuid.uuid4().hex[:6]}"
        response = client.patch(f"/api/v1/clients/{target.pk}/", {"city": city}, format="json")
        after = _snapshot(target)
        if response.status_code != expected:
            wrong.append((target.name, response.status_code, expected))
        if expected == 200:
            assert after == {**before, "city": city}
        else:
            assert after == before
    assert wrong == []


REASSIGN_GATE = ("director", "mentor", "mentor2", "sales_manager")


@pytest.mark.parametrize("role", SIGNED_IN)
def test_reassigning_without_the_right_is_refused_and_changes_nothing(world, role):
    client, user, oracle = login(world, role), world.user(role), world.oracle()
    somebody = world.user("colleague")
    for target in world.all_clients:
        if oracle.can(user, "reassign", target):
            continue
        gated = user.role in ("director", "mentor", "sales_manager")
        expected = 404 if gated and not oracle.can(user, "view", target) else 403
        before = _snapshot(target)
        assignments = target.assignments.count()
        response = client.post(
            f"/api/v1/clients/{target.pk}/reassign/", {"manager": somebody.pk}, format="json"
        )
        assert response.status_code == expected, (target.name, response.content)
        assert _snapshot(target) == before
        assert target.assignments.count() == assignments


@pytest.mark.parametrize("role", SIGNED_IN)
def test_contract_commands_on_objects_one_cannot_work_are_refused(world, role):
    client, user, oracle = login(world, role), world.user(role), world.oracle()
    writer = user.role != "return_manager"
    for contract in Contract.objects.select_related("client"):
        if oracle.can(user, "edit", contract):
            continue
        expected = 404 if writer and not oracle.can(user, "view", contract) else 403
        before = _snapshot(contract)
        count = Contract.objects.count()
        terminate = client.post(
            f"/api/v1/contracts/{contract.pk}/terminate/",
            {"ends_on": "2026-12-31", "reason": "competitor"},
            format="json",
        )
        fee = client.post(
            f"/api/v1/contracts/{contract.pk}/change-fee/",
            {"effective_on": "2026-12-01", "monthly_fee": "1.00"},
            format="json",
        )
        assert (terminate.status_code, fee.status_code) == (expected, expected), contract.pk
        assert _snapshot(contract) == before
        assert Contract.objects.count() == count


def test_a_client_manager_cannot_approve_their_own_refusal(world):
    request = world.clients["manager"][0].requests.get()
    client = login(world, "manager")
    asked = client.post(
        f"/api/v1/requests/{request.pk}/refuse/", {"reason": "Нужна доработка"}, format="json"
    )
    assert asked.status_code == 200
    before = _snapshot(request)
    response = client.post(f"/api/v1/requests/{request.pk}/approve-refusal/")
    assert response.status_code == 403
    assert _snapshot(request) == before
    assert before["status"] == "refusal_pending"


def test_another_return_managers_case_cannot_be_worked(world):
    second = User.objects.create_user(
        username="sec-rm2", password="pass-12345", role="return_manager", full_name="Возвраты 2"
    )
    case = world.cases[2]  # claimed by the first return manager
    client = APIClient()
    assert client.login(username=second.username, password="pass-12345")
    before = _snapshot(case)
    for action, body in (
        ("claim", {}),
        ("start-free-month", {}),
        ("decline", {"reason": "Нет"}),
        (
            "return",
            {
                "manager": world.user("manager").pk,
                "starts_on": "2026-11-01",
                "monthly_fee": "1.00",
            },
        ),
    ):
        response = client.post(f"/api/v1/lost-cases/{case.pk}/{action}/", body, format="json")
        assert response.status_code in (403, 409), (action, response.content)
        assert _snapshot(case) == before


# --- R05: every foreign key in a body is checked against the caller's scope ----------------------


def _fk_bodies(world: World, role: str) -> list[tuple[str, str, dict]]:
    """(method, url, body) writes naming one object the caller cannot use."""
    user = world.user(role)
    oracle = world.oracle()
    foreign = next(c for c in world.all_clients if not oracle.can(user, "view", c))
    own = next((c for c in world.all_clients if oracle.can(user, "edit", c)), None)
    stranger = world.user("director") if role != "director" else None
    bodies = [
        ("post", "/api/v1/interactions/", {"client": foreign.pk, "kind": "call_out"}),
        ("post", "/api/v1/requests/", {"client": foreign.pk, "topic": "Чужая заявка"}),
        ("post", "/api/v1/referrals/", {"referrer": foreign.pk, "organisation": "МБОУ 1"}),
        (
            "post",
            "/api/v1/clients/",
            {
                "name": "МБОУ 77",
                "inn": make_inn(7777),
                "kind": "school",
                "acquisition_channel": "referral",
                "referred_by": foreign.pk,
                "manager": user.pk,
            },
        ),
        (
            "post",
            "/api/v1/clients/",
            {
                "name": "МБОУ 78",
                "inn": make_inn(7778),
                "kind": "school",
                "acquisition_channel": "inbound",
                "parent": foreign.pk,
                "manager": user.pk,
            },
        ),
    ]
    if role != "return_manager":
        bodies.append(
            (
                "post",
                "/api/v1/contracts/",
                {
                    "client": foreign.pk,
                    "number": "Ч-1",
                    "starts_on": "2027-01-01",
                    "monthly_fee": "100.00",
                },
            )
        )
    if own is not None:
        bodies.append(("patch", f"/api/v1/clients/{own.pk}/", {"parent": foreign.pk}))
    if stranger is not None and role in ("mentor", "sales_manager") and own is not None:
        bodies.append(("post", f"/api/v1/clients/{own.pk}/reassign/", {"manager": stranger.pk}))
    return bodies


FK_ROLES = ["mentor", "manager", "other_manager2", "return_manager", "sales_manager"]


def _row_counts() -> dict[str, int]:
    models = (Client, Contract, Interaction, ClientRequest, Referral, LostCase)
    return {model.__name__: model.objects.count() for model in models}


@pytest.mark.parametrize("role", FK_ROLES)
def test_a_foreign_key_outside_the_callers_scope_is_a_400_and_writes_nothing(world, role):
    client = login(world, role)
    for method, url, body in _fk_bodies(world, role):
        counts, clients = _row_counts(), [_snapshot(c) for c in world.all_clients]
        response = getattr(client, method)(url, body, format="json")
        if role == "return_manager" and url == "/api/v1/clients/":
            assert response.status_code == 403, (url, body)
        else:
            assert response.status_code == 400, (url, body, response.content)
        assert _row_counts() == counts
        assert [_snapshot(c) for c in world.all_clients] == clients


def test_a_client_the_caller_reads_but_cannot_work_is_a_400_in_bodies(world):
    client, oracle = login(world, "return_manager"), world.oracle()
    user = world.user("return_manager")
    pool = [c for c in world.lost if not oracle.can(user, "edit", c)]
    assert len(pool) == 2
    for target in pool:
        counts = _row_counts()
        for url, body in (
            ("/api/v1/interactions/", {"client": target.pk, "kind": "call_out"}),
            ("/api/v1/requests/", {"client": target.pk, "topic": "Заявка"}),
            ("/api/v1/referrals/", {"referrer": target.pk, "organisation": "МБОУ 2"}),
        ):
            assert client.post(url, body, format="json").status_code == 400, url
        assert _row_counts() == counts


def test_a_return_goes_only_to_a_book_keeper_the_return_manager_may_name(world):
    client = login(world, "return_manager")
    case = world.cases[2]
    before = _snapshot(case)
    for stranger in (world.user("director"), world.user("inactive"), world.user("sales_manager")):
        response = client.post(
            f"/api/v1/lost-cases/{case.pk}/return/",
            {"manager": stranger.pk, "starts_on": "2026-11-01", "monthly_fee": "100.00"},
            format="json",
        )
        assert response.status_code == 400, stranger.username
        assert _snapshot(case) == before


def test_options_never_list_foreign_choices(world):
    client = login(world, "manager")
    body = client.options("/api/v1/interactions/").content.decode()
    for target in world.clients["other_manager"]:
        assert target.name not in body
    assert "sec-b1" not in client.options("/api/v1/clients/").content.decode()
