"""Authentication, throttling, the error shapes and the fields a caller may write
(SPEC §7, §10; RELIABILITY R01, R05, R06, R16, R19, R22, R23)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from redis.exceptions import ConnectionError as RedisConnectionError
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from clients.serializers import (
    ClientCreateSerializer,
    ClientReassignSerializer,
    ClientRequestSerializer,
    ClientUpdateSerializer,
    InteractionSerializer,
    ReferralSerializer,
)
from core import api
from core.errors import Conflict, QueueUnavailable
from retention.serializers import ContractCreateSerializer, LostCaseReturnSerializer
from team.serializers import StaffCreateSerializer
from tests.api.conftest import api_client

TOKEN = "/api/v1/auth/token/"


def test_token_for_username_and_password(world):
    response = APIClient().post(
        TOKEN, {"username": "manager", "password": "pass-12345"}, format="json"
    )

    assert response.status_code == 200
    assert response.json() == {"token": Token.objects.get(user=world.manager).key}


@pytest.mark.parametrize(
    "body",
    [
        {"username": "manager", "password": "wrong"},
        {"username": "nobody", "password": "pass-12345"},
        {"username": "manager"},
    ],
)
def test_bad_credentials_are_400_and_issue_no_token(world, body):
    response = APIClient().post(TOKEN, body, format="json")

    assert response.status_code == 400
    assert not Token.objects.exists()


def test_token_endpoint_is_throttled_even_with_forged_forwarded_for(world):
    client = APIClient()
    answers = [
        client.post(
            TOKEN,
            # A new username each time: the per-username lockout (django-axes) stays out of the way.
            {"username": f"manager-{attempt}", "password": "wrong"},
            format="json",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{attempt}",
        )
        for attempt in range(11)
    ]

    assert [r.status_code for r in answers] == [400] * 10 + [429]
    assert int(answers[-1]["Retry-After"]) > 0


def test_throttles_let_requests_through_when_the_cache_is_down(world, monkeypatch):
    class DownCache:
        def get(self, *args, **kwargs):
            raise RedisConnectionError("connection refused")

        set = get

    monkeypatch.setattr(api.ScopedRateThrottle, "cache", DownCache())
    monkeypatch.setattr(api.UserRateThrottle, "cache", DownCache())

    token = APIClient().post(TOKEN, {"username": "manager", "password": "pass-12345"})
    listing = api_client(world.manager).get("/api/v1/clients/")

    assert (token.status_code, listing.status_code) == (200, 200)


def test_api_settings_deny_by_default():
    assert [cls.__name__ for cls in api_settings.DEFAULT_PERMISSION_CLASSES] == ["RoleAllowed"]
    assert [cls.__name__ for cls in api_settings.DEFAULT_AUTHENTICATION_CLASSES] == [
        "TokenAuthentication",
        "SessionAuthentication",
    ]
    assert set(api_settings.DEFAULT_THROTTLE_RATES) == {"anon", "user", "auth"}


def test_basic_auth_is_not_accepted(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic bWFuYWdlcjpwYXNzLTEyMzQ1")

    assert client.get("/api/v1/clients/").status_code == 401


def test_session_writes_need_the_csrf_token(world):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(world.manager)
    body = {"client": world.acme.pk, "kind": "call_out", "outcome": "reached"}

    response = client.post("/api/v1/interactions/", body, format="json")

    assert response.status_code == 403
    assert client.get("/api/v1/interactions/").status_code == 200


# --- the exception handler ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "status", "body"),
    [
        (
            DjangoValidationError({"inn": ["Bad checksum."], "__all__": ["Not both."]}),
            400,
            {"inn": ["Bad checksum."], "non_field_errors": ["Not both."]},
        ),
        (DjangoValidationError("Broken."), 400, {"non_field_errors": ["Broken."]}),
        (PermissionDenied("No."), 403, {"detail": "No."}),
        (Conflict("Already claimed by Дарья."), 409, {"detail": "Already claimed by Дарья."}),
        (QueueUnavailable("Queue down."), 503, {"detail": "Queue down."}),
    ],
)
def test_domain_exceptions_map_to_http(db, exc, status, body):
    # db: a 403 is recorded as a security event.
    response = api.exception_handler(exc, {})

    assert (response.status_code, response.data) == (status, body)


def test_integrity_error_is_409_not_500():
    response = api.exception_handler(IntegrityError("duplicate key value"), {})

    assert response.status_code == 409
    assert set(response.data) == {"detail"}


def test_unknown_exceptions_are_left_to_django():
    assert api.exception_handler(RuntimeError("bug"), {}) is None


# --- what a caller may write (RELIABILITY R05, R06) -----------------------------------------


def _writable(serializer_class) -> set[str]:
    fields = serializer_class().fields
    return {name for name, field in fields.items() if not field.read_only}


def _scoped(serializer_class) -> set[str]:
    fields = serializer_class().fields
    return {
        name
        for name, field in fields.items()
        if isinstance(field, serializers.RelatedField) and not field.read_only
    }


@pytest.mark.parametrize(
    ("serializer_class", "writable", "foreign_keys"),
    [
        (
            ClientCreateSerializer,
            {
                "name",
                "inn",
                "kpp",
                "kind",
                "region",
                "city",
                "manager",
                "acquisition_channel",
                "referred_by",
                "parent",
            },
            {"manager", "referred_by", "parent"},
        ),
        (
            ClientUpdateSerializer,
            {"name", "inn", "kpp", "kind", "region", "city", "parent"},
            {"parent"},
        ),
        (ClientReassignSerializer, {"manager", "reason", "effective_on"}, {"manager"}),
        (
            InteractionSerializer,
            {
                "client",
                "kind",
                "occurred_at",
                "duration_min",
                "outcome",
                "summary",
                "next_contact_on",
            },
            {"client"},
        ),
        (ClientRequestSerializer, {"client", "topic", "description", "urgency"}, {"client"}),
        (
            ReferralSerializer,
            {"referrer", "organisation", "inn", "contact", "comment", "next_step_on"},
            {"referrer"},
        ),
        (
            ContractCreateSerializer,
            {"client", "number", "kind", "starts_on", "ends_on", "monthly_fee", "comment"},
            {"client"},
        ),
        (LostCaseReturnSerializer, {"manager", "starts_on", "monthly_fee", "number"}, {"manager"}),
        (
            StaffCreateSerializer,
            {
                "username",
                "password",
                "full_name",
                "email",
                "phone",
                "role",
                "mentor",
                "hired_on",
                "ramp_until",
                "capacity",
            },
            {"mentor"},
        ),
    ],
)
def test_writable_fields_are_an_allow_list_and_every_foreign_key_is_scoped(
    serializer_class, writable, foreign_keys
):
    assert _writable(serializer_class) == writable
    assert _scoped(serializer_class) == foreign_keys
    for name in foreign_keys:
        assert isinstance(serializer_class().fields[name], api.ScopedPrimaryKeyRelatedField)
