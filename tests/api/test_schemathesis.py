"""Property-based run of the live OpenAPI schema against the app, in-process (RELIABILITY R22,
R38): no operation answers 5xx, and every documented response matches its schema.

Authenticated as the director with a token; derandomized and a few examples per operation, so the
run is the same on every machine and stays short.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.cache import cache
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

EXAMPLES_PER_OPERATION = 15

pytestmark = pytest.mark.django_db(transaction=True)


# Which object of the world an operation's {id} points at half of the time (the other half is
# whatever the generator picks, mostly missing ids).
REAL_OBJECTS = {
    "/api/v1/staff/": "colleague",
    "/api/v1/clients/": "acme",
    "/api/v1/contracts/": "contract",
    "/api/v1/requests/": "pending_request",
    "/api/v1/lost-cases/": "claimed_case",
    "/api/v1/tasks/": "task",
}


def _strategy(operation, world):
    """Valid and invalid requests alike; for an operation on one object, half of them aim at a
    real one."""
    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    strategies = [operation.as_strategy(generation_mode=mode) for mode in modes]
    if "{id}" in operation.path:
        real = {"id": getattr(world, REAL_OBJECTS[operation.path.split("{id}")[0]]).pk}
        strategies += [
            operation.as_strategy(generation_mode=mode, path_parameters=real) for mode in modes
        ]
    return st.one_of(strategies)


def _fuzz(operation, strategy, token: str):
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case):
        case.call_and_validate(
            headers={"Authorization": token},
            checks=[not_a_server_error, response_schema_conformance],
        )

    return run


def test_api_conforms_to_its_schema(world):
    app = get_wsgi_application()
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", app)
    token = f"Token {Token.objects.create(user=world.director).key}"
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30
    failures = []
    for operation in operations:
        cache.clear()  # each operation starts with fresh throttle counters
        try:
            _fuzz(operation, _strategy(operation, world), token)()
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"{operation.label}: {exc}")
    assert failures == [], "\n\n".join(failures)
