"""SPEC §14 pages: who opens the board and a lead, the board's columns and filters, a move from
the board answered with the board (htmx) or a redirect (no JavaScript), and a bad move refused on
the lead page with the field named and nothing changed."""

from __future__ import annotations

import datetime
import html
import re

import pytest
from django.urls import reverse

from clients.models import Referral
from clients.services import referral_create
from referrals.services import referral_lose, referral_move
from tests.factories import ClientFactory, make_inn

pytestmark = pytest.mark.frozen_clock("2026-12-04 09:00:00")
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def leads(manager, colleague):
    school = ClientFactory(manager=manager, name="МБОУ СОШ № 5")
    other = ClientFactory(manager=colleague, name="МБДОУ № 1")
    fresh = referral_create(actor=manager, referrer=school, organisation="Лицей № 2")
    met = referral_create(actor=manager, referrer=school, organisation="Гимназия № 3")
    referral_move(actor=manager, referral=met, status="meeting")
    lost = referral_create(actor=manager, referrer=school, organisation="Школа № 4")
    referral_lose(actor=manager, referral=lost, reason="Нет бюджета")
    theirs = referral_create(
        actor=colleague, referrer=other, organisation="ЦБ Канска", inn=make_inn(41)
    )
    return {"fresh": fresh, "met": met, "lost": lost, "theirs": theirs}


def columns(response) -> dict[str, list[str]]:
    """The board as the page shows it: each column's stage and the leads' names, in order."""
    board = {}
    for part in response.content.decode().split('data-testid="referral-column" data-stage="')[1:]:
        stage = part.split('"', 1)[0]
        board[stage] = [
            html.unescape(name) for name in re.findall(r'class="lead-name"[^>]*>([^<]+)<', part)
        ]
    return board


def test_the_board_shows_what_the_user_works_by_stage(client, manager, mentor, leads):
    client.force_login(manager)
    response = client.get(reverse("referrals:board"))
    assert columns(response) == {
        "new": ["Лицей № 2"],
        "contacted": [],
        "meeting": ["Гимназия № 3"],
        "won": [],
        "lost": ["Школа № 4"],
    }
    # The mentor sees the group's leads, the colleague's too.
    client.force_login(mentor)
    assert columns(client.get(reverse("referrals:board")))["new"] == ["Лицей № 2", "ЦБ Канска"]
    response = client.get(reverse("referrals:board"), {"stage": "new", "owner": manager.pk})
    assert columns(response) == {"new": ["Лицей № 2"]}


def test_who_opens_the_board_and_a_lead(client, outsider, return_manager, leads):
    client.force_login(outsider)
    assert client.get(reverse("referrals:lead", args=[leads["fresh"].pk])).status_code == 404
    client.force_login(return_manager)
    assert client.get(reverse("referrals:board")).status_code == 403


def test_a_move_from_the_board_answers_with_the_board_or_a_redirect(client, manager, leads):
    client.force_login(manager)
    lead = leads["fresh"]
    url = reverse("referrals:move", args=[lead.pk])
    response = client.post(url, {"status": "contacted", "from": "board"}, **HTMX)
    assert response.status_code == 200
    assert columns(response)["contacted"] == ["Лицей № 2"]
    assert "Рекомендация перенесена." in response.content.decode()

    board = reverse("referrals:board") + "?stage=meeting"
    response = client.post(url, {"status": "meeting", "next": board})
    assert (response.status_code, response["Location"]) == (302, board)
    response = client.post(url, {"status": "new", "next": "https://evil.example/"})
    assert response["Location"] == reverse("referrals:lead", args=[lead.pk])


def test_a_bad_move_is_refused_on_the_lead_page_with_the_field_named(client, manager, leads):
    client.force_login(manager)
    lead = leads["fresh"]
    response = client.post(
        reverse("referrals:move", args=[lead.pk]),
        {"status": "contacted", "next_step_on": "2026-12-01"},
    )
    assert response.status_code == 400
    assert response.context["move_form"].errors == {
        "next_step_on": ["Следующий шаг — сегодня или позже."]
    }
    lead.refresh_from_db()
    assert (lead.status, lead.next_step_on) == ("new", datetime.date(2026, 12, 7))
    # A closed lead cannot be moved: the message says it is closed.
    response = client.post(
        reverse("referrals:move", args=[leads["lost"].pk]), {"status": "contacted"}
    )
    assert response.status_code == 400
    assert "уже закрыта" in str(response.context["move_form"].non_field_errors())
    assert "уже закрыта" in response.content.decode()
    assert Referral.objects.get(pk=leads["lost"].pk).status == "lost"
