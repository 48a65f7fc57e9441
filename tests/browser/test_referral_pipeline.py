"""SPEC §14 in a real browser, in Russian: a client manager records a lead on the referrer's card,
finds it due on /my/, moves it across the board to a meeting without a page reload, wins it, and
the new client lands in the book of the referrer's manager."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from clients.models import AcquisitionChannel, Client, ClientStatus, Referral, TaskKind
from tests.browser.conftest import login
from tests.factories import ClientFactory, make_inn

pytestmark = [pytest.mark.browser, pytest.mark.frozen_clock("2026-12-07 07:00:00")]


def test_a_lead_goes_from_new_to_won_and_the_client_is_in_the_referrers_managers_book(
    page, live_server, manager
):
    referrer = ClientFactory(manager=manager, name="МБОУ СОШ № 5", status=ClientStatus.ACTIVE)
    login(page, "manager")
    page.goto(f"{live_server.url}/clients/{referrer.pk}/")
    form = page.get_by_test_id("add-referral-form")
    form.locator("input[name='referral-organisation']").fill("МБДОУ Детский сад № 3")
    form.locator("input[name='referral-inn']").fill(make_inn(303))
    form.get_by_role("button").click()
    expect(page.get_by_test_id("client-timeline")).to_contain_text("МБДОУ Детский сад № 3")
    lead = Referral.objects.get(organisation="МБДОУ Детский сад № 3")

    # Recorded on Monday: the next step is Tuesday, so /my/ shows nothing due yet; the board does.
    page.goto(f"{live_server.url}/referrals/")
    card = page.get_by_test_id("referral-card").filter(has_text="МБДОУ Детский сад № 3")
    expect(card).to_have_attribute("data-stage", "new")
    page.evaluate("window.noReload = true")
    card.get_by_test_id("move-contacted").click()
    expect(page.get_by_test_id("referral-notice")).to_be_visible()
    card = page.get_by_test_id("referral-card").filter(has_text="МБДОУ Детский сад № 3")
    expect(card).to_have_attribute("data-stage", "contacted")
    card.get_by_test_id("move-meeting").click()
    expect(page.locator("[data-testid='referral-column'][data-stage='meeting']")).to_contain_text(
        "МБДОУ Детский сад № 3"
    )
    assert page.evaluate("window.noReload") is True

    page.get_by_test_id("referral-card").filter(has_text="МБДОУ Детский сад № 3").get_by_test_id(
        "win-lead"
    ).click()
    expect(page.get_by_test_id("win-credit")).to_contain_text(manager.get_full_name())
    page.get_by_test_id("win-form").get_by_role("button").click()

    client = Client.objects.get(inn=make_inn(303))
    expect(page).to_have_url(f"{live_server.url}/clients/{client.pk}/")
    assert (client.manager, client.acquisition_channel, client.referred_by) == (
        manager,
        AcquisitionChannel.REFERRAL,
        referrer,
    )
    lead.refresh_from_db()
    assert list(lead.stages.values_list("to_status", flat=True)) == [
        "new",
        "contacted",
        "meeting",
        "won",
    ]
    assert referrer.tasks.filter(kind=TaskKind.THANK_REFERRER, assignee=manager).count() == 1

    # The manager's book lists the new client; the board shows the lead as won.
    page.goto(f"{live_server.url}/clients/?q=Детский")
    expect(page.locator("body")).to_contain_text("МБДОУ Детский сад № 3")
    page.goto(f"{live_server.url}/referrals/?referrer={referrer.pk}")
    expect(page.locator("[data-testid='referral-column'][data-stage='won']")).to_contain_text(
        "МБДОУ Детский сад № 3"
    )
