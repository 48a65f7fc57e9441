"""R06 (no mass assignment) and R07 (filters, search and ordering never widen the visible set),
with real logins against the oracle of ``tests.security.oracle``."""

from __future__ import annotations

import inspect
import re

import pytest
from rest_framework import serializers

import clients.serializers
import kpi.serializers
import retention.serializers
import team.serializers
from clients.models import Client, ClientRequest, Interaction, Referral
from core.api import ScopedPrimaryKeyRelatedField
from staff.models import User
from tests.factories import make_inn
from tests.security.conftest import login
from tests.security.test_access_matrix import _ids, _snapshot

# --- R06 ---------------------------------------------------------------------------------------


def test_forged_author_and_status_fields_of_a_call_request_and_referral_are_ignored(world):
    me, other = world.user("manager"), world.user("colleague")
    client = login(world, "manager")
    target = world.clients["manager"][0]
    call = client.post(
        "/api/v1/interactions/",
        {
            "client": target.pk,
            "kind": "call_out",
            "outcome": "reached",
            "staff": other.pk,
            "id": 999999,
        },
        format="json",
    )
    assert call.status_code == 201, call.content
    assert Interaction.objects.get(pk=call.json()["id"]).staff == me
    forged = {
        "client": target.pk,
        "topic": "Не печатается",
        "logged_by": other.pk,
        "status": "resolved",
        "due_at": "2030-01-01T00:00:00Z",
        "resolved_at": "2026-01-01T00:00:00Z",
        "refusal_approved_by": world.user("director").pk,
    }
    request = ClientRequest.objects.get(
        pk=client.post("/api/v1/requests/", forged, format="json").json()["id"]
    )
    assert (request.logged_by, request.status, request.resolved_at) == (me, "open", None)
    assert request.refusal_approved_by is None
    assert request.due_at.year < 2030
    referral = client.post(
        "/api/v1/referrals/",
        {
            "referrer": target.pk,
            "organisation": "МБОУ 5",
            "recorded_by": other.pk,
            "status": "won",
            "client": world.clients["manager"][1].pk,
        },
        format="json",
    )
    assert referral.status_code == 201, referral.content
    row = Referral.objects.get(pk=referral.json()["id"])
    assert (row.recorded_by, row.status, row.client) == (me, "new", None)


def test_a_client_patch_cannot_set_status_manager_or_timestamps(world):
    target = world.clients["manager"][0]
    before = _snapshot(target)
    response = login(world, "manager").patch(
        f"/api/v1/clients/{target.pk}/",
        {
            "status": "closed",
            "manager": world.user("colleague").pk,
            "created_at": "2000-01-01T00:00:00Z",
            "risk_score": 0,
            "city": "Ачинск",
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    after = _snapshot(target)
    assert after == {**before, "city": "Ачинск"}


def test_a_new_client_starts_as_a_prospect_whatever_status_is_posted(world):
    response = login(world, "manager").post(
        "/api/v1/clients/",
        {
            "name": "МБОУ 91",
            "inn": make_inn(9191),
            "kind": "school",
            "acquisition_channel": "inbound",
            "manager": world.user("manager").pk,
            "status": "active",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert Client.objects.get(pk=response.json()["id"]).status == "prospect"


def test_staff_creation_cannot_grant_admin_flags_and_is_directors_only(world):
    body = {
        "username": "sec-new",
        "password": "Long-enough-passphrase-42",
        "full_name": "Новичок",
        "role": "client_manager",
        "mentor": world.user("mentor").pk,
        "is_staff": True,
        "is_superuser": True,
        "is_active": False,
    }
    for role in ("mentor", "manager", "return_manager", "sales_manager"):
        forged = {**body, "username": f"sec-{role}-x", "role": "director"}
        assert login(world, role).post("/api/v1/staff/", forged, format="json").status_code == 403
    assert not User.objects.filter(username__endswith="-x").exists()
    response = login(world, "director").post("/api/v1/staff/", body, format="json")
    assert response.status_code == 201, response.content
    created = User.objects.get(username="sec-new")
    assert (created.is_staff, created.is_superuser, created.is_active) == (False, False, True)


def test_there_is_no_endpoint_that_edits_a_user():
    from crm.api_router import router

    for prefix, viewset, _basename in router.registry:
        if prefix == "staff":
            assert not hasattr(viewset, "update")
            assert not hasattr(viewset, "partial_update")
            assert not hasattr(viewset, "destroy")


# Output serializers: fields no caller may ever write.
REQUIRED_READ_ONLY = {
    clients.serializers.ClientSerializer: {"id", "manager", "status", "created_at", "updated_at"},
    clients.serializers.InteractionSerializer: {"id", "staff"},
    clients.serializers.ClientRequestSerializer: {
        "id",
        "logged_by",
        "status",
        "opened_at",
        "due_at",
        "resolved_at",
        "refusal_requested_by",
        "refusal_approved_by",
    },
    clients.serializers.ReferralSerializer: {"id", "recorded_by", "status", "client"},
    retention.serializers.ContractSerializer: {"id", "termination_reason", "created_at"},
    retention.serializers.LostCaseSerializer: {"status", "return_manager", "new_manager"},
}
NEVER_WRITABLE = {
    "status",
    "is_staff",
    "is_superuser",
    "is_active",
    "created_by",
    "logged_by",
    "recorded_by",
    "staff",
    "history",
    "password_hash",
}


def test_each_output_serializer_keeps_its_protected_fields_read_only():
    for serializer_class, required in REQUIRED_READ_ONLY.items():
        fields = serializer_class().fields
        writable = {name for name, field in fields.items() if not field.read_only}
        assert writable & required == set(), serializer_class.__name__


def _serializer_classes():
    for module in (clients.serializers, retention.serializers, team.serializers, kpi.serializers):
        for _name, value in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(value, serializers.BaseSerializer)
                and value.__module__ == module.__name__
            ):
                yield value


def test_no_serializer_accepts_audit_or_privilege_fields():
    for serializer_class in _serializer_classes():
        try:
            fields = serializer_class().fields
        except (AssertionError, TypeError):
            continue
        writable = {name for name, field in fields.items() if not field.read_only}
        assert writable & NEVER_WRITABLE == set(), serializer_class.__name__


def test_every_writable_foreign_key_is_scoped_by_the_request():
    """R05 step 1: introspect every serializer; a plain ``PrimaryKeyRelatedField`` over a global
    queryset would accept anybody's id."""
    seen = 0
    for serializer_class in _serializer_classes():
        try:
            fields = serializer_class().fields
        except (AssertionError, TypeError):
            continue
        for name, field in fields.items():
            related = (
                field.child_relation if isinstance(field, serializers.ManyRelatedField) else field
            )
            if isinstance(related, serializers.RelatedField) and not field.read_only:
                assert isinstance(related, ScopedPrimaryKeyRelatedField), (
                    serializer_class.__name__,
                    name,
                )
                seen += 1
    assert seen >= 12


# --- R07 ---------------------------------------------------------------------------------------

FILTER_ROLES = ["mentor", "manager", "other_manager2", "return_manager", "sales_manager"]


@pytest.mark.parametrize("role", FILTER_ROLES)
def test_filters_with_another_teams_values_stay_inside_the_visible_set(world, role):
    client, user, oracle = login(world, role), world.user(role), world.oracle()
    visible = oracle.visible(user)
    foreign = [c for c in world.all_clients if c.pk not in visible]
    people = [u for u in world.users.values() if u.pk != user.pk]
    assert foreign
    queries = [("clients", {"manager": person.pk}) for person in people]
    for target in foreign:
        queries += [
            ("clients", {"search": target.inn}),
            ("clients", {"search": target.name}),
            ("clients", {"city": target.city, "status": target.status}),
            ("contracts", {"client": target.pk}),
            ("interactions", {"client": target.pk}),
            ("requests", {"client": target.pk}),
            ("lost-cases", {"client": target.pk}),
            ("referrals", {"referrer": target.pk}),
        ]
    for resource, params in queries:
        response = client.get(f"/api/v1/{resource}/", params)
        if response.status_code == 400:
            continue  # an unknown choice is refused, which leaks nothing either
        assert response.status_code == 200, (resource, params)
        body = response.json()
        assert body["count"] == len(body["results"]), (resource, params)
        if resource == "clients":
            assert {row["id"] for row in body["results"]} <= visible, params
        elif resource == "referrals":
            assert {row["referrer"] for row in body["results"]} <= visible, params
        else:
            assert {row["client"] for row in body["results"]} <= visible, (resource, params)
            if "client" in params:
                assert body["count"] == 0, (resource, params)


@pytest.mark.parametrize("role", FILTER_ROLES)
def test_the_clients_page_filters_stay_inside_the_visible_set(world, role):
    client, user, oracle = login(world, role), world.user(role), world.oracle()
    visible = oracle.visible(user)
    queries = [{"manager": person.pk} for person in world.users.values()]
    for target in world.all_clients:
        if target.pk not in visible:
            queries += [{"search": target.name}, {"search": target.inn}]
    for params in queries:
        assert _page_ids(client, params) <= visible, params


def _page_ids(client, params: dict) -> set[int]:
    response = client.get("/clients/", params)
    assert response.status_code in (200, 400)
    return {int(pk) for pk in re.findall(r'href="/clients/(\d+)/"', response.content.decode())}


@pytest.mark.parametrize(
    "ordering", ["inn", "manager__password", "-id", "manager__username", "status,inn"]
)
def test_ordering_by_a_field_outside_the_allow_list_is_ignored_or_refused(world, ordering):
    client, user = login(world, "mentor"), world.user("mentor")
    visible = world.oracle().visible(user)
    response = client.get("/api/v1/clients/", {"ordering": ordering})
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert {row["id"] for row in response.json()["results"]} == visible
        default = _ids(client, "/api/v1/clients/")
        assert [row["id"] for row in response.json()["results"]] == default
    assert _page_ids(client, {"ordering": ordering}) <= visible
    for resource in ("contracts", "interactions", "requests", "lost-cases"):
        plain = _ids(client, f"/api/v1/{resource}/")
        assert _ids(client, f"/api/v1/{resource}/", {"ordering": ordering}) == plain
