"""The fixed cast of the department, shared by every test (roles of SPEC §1)."""

from __future__ import annotations

import os
from contextlib import contextmanager

import freezegun

# pandas must be imported before any test freezes the clock: importing it under freezegun crashes
# the interpreter, and the URLconf imports it lazily through the KPI API.
import pandas  # noqa: F401
import pytest

# DRF's throttles keep ``timer = time.time`` as a class attribute: imported under a frozen clock it
# would hold freezegun's plain function, which then receives ``self`` (TypeError) in every later
# test. Imported here, it holds the real clock.
import rest_framework.throttling  # noqa: F401
from django.db import transaction
from hypothesis import settings as hypothesis_settings

from staff.models import Role
from tests.factories import UserFactory
from tests.fault_servers import redis_server

PASSWORD = "pass-12345"

# pytest times each test with the clock functions of ``_pytest.timing``; a test frozen with
# freezegun would patch them too and report nonsense (--durations). That module keeps real time.
freezegun.configure(extend_ignore_list=["_pytest.timing"])

# Property tests: a few examples on a developer's machine, the full run in CI (which sets CI=true);
# HYPOTHESIS_PROFILE names either one explicitly. Pages and database round trips take longer than
# Hypothesis's default deadline, so none is set. The profile governs the tests of cheap examples;
# a test whose every example renders pages or fuzzes the API states its own ``max_examples``,
# sized by that cost, which no profile overrides.
hypothesis_settings.register_profile("quick", max_examples=10, deadline=None)
hypothesis_settings.register_profile("ci", max_examples=200, deadline=None, print_blob=True)
hypothesis_settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE")
    or ("ci" if os.environ.get("CI", "").lower() in ("1", "true") else "quick")
)


def on_postgres() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


requires_postgres = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith(("postgres", "postgis")),
    reason="needs PostgreSQL (set DATABASE_URL)",
)


@pytest.fixture
def director(db):
    return UserFactory(username="director", full_name="Директор Ирина", role=Role.DIRECTOR)


@pytest.fixture
def mentor(db):
    return UserFactory(username="mentor", full_name="Наставник Олег", role=Role.MENTOR)


@pytest.fixture
def manager(mentor):
    """A client manager in ``mentor``'s group."""
    return UserFactory(
        username="manager",
        full_name="Клиент-менеджер Анна",
        role=Role.CLIENT_MANAGER,
        mentor=mentor,
    )


@pytest.fixture
def colleague(mentor):
    """Another client manager of the same group."""
    return UserFactory(
        username="colleague",
        full_name="Клиент-менеджер Борис",
        role=Role.CLIENT_MANAGER,
        mentor=mentor,
    )


@pytest.fixture
def other_mentor(db):
    return UserFactory(username="mentor2", full_name="Наставник Вера", role=Role.MENTOR)


@pytest.fixture
def outsider(other_mentor):
    """A client manager of another group."""
    return UserFactory(
        username="outsider",
        full_name="Клиент-менеджер Глеб",
        role=Role.CLIENT_MANAGER,
        mentor=other_mentor,
    )


@pytest.fixture
def return_manager(db):
    return UserFactory(username="returner", full_name="Возвраты Дарья", role=Role.RETURN_MANAGER)


@pytest.fixture
def second_return_manager(db):
    return UserFactory(username="returner2", full_name="Возвраты Егор", role=Role.RETURN_MANAGER)


@pytest.fixture
def sales_manager(db):
    return UserFactory(username="sales", full_name="Продажи Жанна", role=Role.SALES_MANAGER)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Locks, throttles and cached pages must not leak from one test into the next (the cache is
    Redis when REDIS_URL is set)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def english_pages(client):
    """Pages in English: assertions read the msgids, whatever the Russian catalogue says."""
    from django.conf import settings

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the default language: a page request in English leaves English active
    in its thread, which would leak into the next test's messages."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


# On PostgreSQL security events have a connection of their own (RELIABILITY R26, see
# core.db_routers): every test that uses the database may use every alias.


def pytest_collection_modifyitems(items):
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker is not None and "databases" not in marker.kwargs and len(marker.args) < 3:
            kwargs = {**marker.kwargs, "databases": "__all__"}
            item.add_marker(pytest.mark.django_db(*marker.args, **kwargs), append=False)


@pytest.fixture(autouse=True)
def _every_database_alias(request):
    """For a test without a ``django_db`` mark: whenever it asks for the database (through
    ``db`` or a fixture fetched on the fly), it gets every alias. Added after pytest-django's own
    check of the mark, so a test that never asks stays without database access."""
    if request.node.get_closest_marker("django_db") is None:
        request.node.add_marker(pytest.mark.django_db(databases="__all__"))


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """pytest-django's test databases; before they are dropped, every connection of this thread
    is closed, the security events' own one included (it would keep the database in use)."""
    yield
    from django.db import connections

    connections.close_all()


@pytest.fixture(scope="session", autouse=True)
def _urlconf_loaded():
    """Every page module is imported once, before any test stops the clock: imported under
    freezegun, numpy (behind the KPI pages) crashes the interpreter, and a class attribute such as
    a throttle's ``timer = time.time`` would keep freezegun's function for good."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018


@pytest.fixture(autouse=True)
def _frozen_clock(request):
    """``pytestmark = pytest.mark.frozen_clock(moment)``: the module's tests, their fixtures
    included, run at ``moment`` (anything freezegun takes); the clock does not move."""
    marker = request.node.get_closest_marker("frozen_clock")
    if marker is None:
        yield
        return
    with freezegun.freeze_time(*marker.args, **marker.kwargs):
        yield


@pytest.fixture
def private_redis(tmp_path):
    """A ``redis-server`` of the test's own, to shut down or freeze (tests.fault_servers)."""
    with redis_server(tmp_path) as server:
        yield server


@contextmanager
def rolled_back():
    """A savepoint undone at the end: each attempt inside meets the same data."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)
