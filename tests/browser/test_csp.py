"""The content security policy breaks nothing: the main pages, the admin and the Swagger UI load in
chromium without a single CSP violation (RELIABILITY R18)."""

from __future__ import annotations

import pytest

from staff.models import Role
from tests.browser.conftest import login
from tests.factories import UserFactory

pytestmark = pytest.mark.browser


def _violations(page) -> list[str]:
    found: list[str] = []
    page.on(
        "console",
        lambda message: (
            found.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return found


@pytest.mark.django_db(transaction=True)
def test_pages_docs_and_admin_load_without_csp_violations(page):
    UserFactory(
        username="keeper", role=Role.DIRECTOR, is_staff=True, is_superuser=True, full_name="Админ"
    )
    violations = _violations(page)
    login(page, "keeper")
    for url in ["/dashboard/", "/clients/", "/retention/", "/team/", "/admin/", "/api/v1/docs/"]:
        page.goto(f"{page.base_url}{url}")
        page.wait_for_load_state("networkidle")
        assert page.title(), url

    page.goto(f"{page.base_url}/api/v1/docs/")
    page.wait_for_selector(".swagger-ui .info", timeout=15_000)

    assert violations == []
