"""The director's lists in a real browser on the demo company: the client list exported with its
filter (RELIABILITY R08: a background job, a status page, a download), and the team page narrowed
to one mentor's group and paged."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from django.core.management import call_command
from playwright.sync_api import expect

from clients.models import Client, ClientStatus
from demo.logins import DEMO_PASSWORD
from staff.models import Role, User
from tests.browser.conftest import login


def test_director_exports_the_filtered_client_list(page, transactional_db):
    call_command("seed_demo", clients=150, years=2, seed=42, verbosity=0)
    login(page, "director", DEMO_PASSWORD)

    page.goto(f"{page.base_url}/clients/?status={ClientStatus.ACTIVE}")
    page.get_by_test_id("clients-export-csv").click()
    page.wait_for_url("**/clients/exports/*/")
    status = page.get_by_test_id("export-status")
    expect(status).to_have_attribute("data-state", "done")  # embedded mode: built at once
    with page.expect_download() as download:
        page.get_by_test_id("export-download").click()
    body = Path(download.value.path()).read_bytes().decode("utf-8-sig")

    rows = list(csv.reader(io.StringIO(body)))
    active = Client.objects.filter(status=ClientStatus.ACTIVE)
    assert len(rows) - 1 == active.count() > 50
    assert {row[1] for row in rows[1:]} == set(active.values_list("inn", flat=True))


def test_director_narrows_the_team_to_one_group(page, transactional_db):
    call_command("seed_demo", clients=150, years=2, seed=42, verbosity=0)
    mentor = User.objects.filter(role=Role.MENTOR, is_active=True).order_by("full_name").last()
    mentees = mentor.mentees.filter(is_active=True, role=Role.CLIENT_MANAGER)
    group = {mentor.pk, *mentees.values_list("pk", flat=True)}
    login(page, "director", DEMO_PASSWORD)

    page.goto(f"{page.base_url}/team/")
    everyone = page.get_by_test_id("member-row").count()
    page.get_by_test_id("team-group-filter").locator("select").select_option(str(mentor.pk))
    page.wait_for_url(f"**/team/?group={mentor.pk}")

    rows = page.get_by_test_id("member-row")
    expect(rows).to_have_count(len(group))
    shown = {int(row.get_attribute("data-member-id")) for row in rows.all()}
    assert shown == group
    assert len(group) < everyone
