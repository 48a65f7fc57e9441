"""The confirmation step of irreversible actions (SPEC §11), on the server: a post without
``confirmed=1`` gets a second page that asks and re-posts the same fields; a confirmed one goes
through."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import translation

from core.confirm import confirmation_page
from staff.models import User

QUESTION = "Уволить «Иванова» и передать клиентов?"


@pytest.fixture
def rf():
    return RequestFactory()


def hidden_inputs(html: str) -> list[tuple[str, str]]:
    """The fields the second page's form sends (the page has other forms: language, log out)."""
    html = re.search(r'data-testid="confirm-form">.*?</form>', html, re.S).group(0)
    return [
        (unescape(name), unescape(value))
        for name, value in re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', html)
    ]


def rename_view(request, pk: int) -> HttpResponse:
    """A view of the documented shape: its checks, the confirmation, then the write."""
    page = confirmation_page(
        request,
        question=QUESTION,
        cancel_url="/team/",
        action_label="Уволить",
    )
    if page is not None:
        return page
    User.objects.filter(pk=pk).update(full_name=request.POST["full_name"])
    return HttpResponse("done")


def test_without_confirmed_the_second_page_asks_and_reposts_every_field(rf, director):
    request = rf.post(
        "/team/7/handover/?group=3",
        {
            "csrfmiddlewaretoken": "old-token",
            "target": "12",
            "clients": ["5", "6"],
            "comment": 'Клиенты "Школы № 1" <срочно>',
            "confirmed": "0",
        },
    )
    request.user = director

    response = confirmation_page(
        request, question=QUESTION, cancel_url="/team/?group=3", action_label="Уволить"
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'data-testid="confirm-question">(.*?)</h1>', html).group(1) == (
        "Уволить «Иванова» и передать клиентов?"
    )
    form = re.search(r'<form method="post" action="([^"]*)" data-testid="confirm-form">', html)
    assert unescape(form.group(1)) == "/team/7/handover/?group=3"
    inputs = hidden_inputs(html)
    token = [value for name, value in inputs if name == "csrfmiddlewaretoken"]
    assert len(token) == 1
    assert token[0] != "old-token"
    assert [pair for pair in inputs if pair[0] != "csrfmiddlewaretoken"] == [
        ("target", "12"),
        ("clients", "5"),
        ("clients", "6"),
        ("comment", 'Клиенты "Школы № 1" <срочно>'),
        ("confirmed", "1"),
    ]
    assert re.search(r'data-testid="confirm-submit">(.*?)</button>', html).group(1) == "Уволить"
    assert re.search(r'<a class="btn" href="([^"]*)" data-testid="confirm-cancel">', html).group(
        1
    ) == ("/team/?group=3")


def test_the_values_are_escaped_on_the_second_page(rf, director):
    request = rf.post("/x/", {"reason": '"><script>alert(1)</script>'})
    request.user = director

    html = confirmation_page(request, question="<b>Закрыть?</b>", cancel_url="/").content.decode()

    assert "<script>alert(1)</script>" not in html
    assert "<b>Закрыть?</b>" not in html
    assert ("reason", '"><script>alert(1)</script>') in hidden_inputs(html)


def test_the_button_says_confirm_unless_told_otherwise(rf, director):
    request = rf.post("/x/", {})
    request.user = director

    with translation.override("ru"):
        russian = confirmation_page(request, question="Точно?", cancel_url="/").content.decode()
    with translation.override("en"):
        english = confirmation_page(request, question="Sure?", cancel_url="/").content.decode()

    label = r'data-testid="confirm-submit">(.*?)</button>'
    cancel = r'data-testid="confirm-cancel">(.*?)</a>'
    assert re.search(label, russian).group(1) == "Подтвердить"
    assert re.search(cancel, russian).group(1) == "Отмена"
    assert re.search(label, english).group(1) == "Confirm"
    assert re.search(cancel, english).group(1) == "Cancel"


def test_confirmed_is_let_through(rf):
    request = rf.post("/x/", {"confirmed": "1", "reason": "нет"})
    request.user = AnonymousUser()

    assert confirmation_page(request, question="Точно?", cancel_url="/") is None


def test_an_htmx_post_without_confirmation_replaces_the_page_body(rf, director):
    request = rf.post("/x/", {"reason": "нет"}, HTTP_HX_REQUEST="true")
    request.user = director

    response = confirmation_page(request, question="Точно?", cancel_url="/")

    assert (response["HX-Retarget"], response["HX-Reswap"]) == ("body", "innerHTML")
    assert 'data-testid="confirm-page"' in response.content.decode()


def test_a_view_writes_nothing_until_confirmed(rf, director, manager):
    first = rf.post(f"/rename/{manager.pk}/", {"full_name": "Иванов Пётр"})
    first.user = director
    asked = rename_view(first, manager.pk)
    manager.refresh_from_db()
    name_after_first_post = manager.full_name

    # The second page's form, sent as it is.
    second = rf.post(f"/rename/{manager.pk}/", dict(hidden_inputs(asked.content.decode())))
    second.user = director
    done = rename_view(second, manager.pk)
    manager.refresh_from_db()

    assert 'data-testid="confirm-page"' in asked.content.decode()
    assert name_after_first_post == "Клиент-менеджер Анна"
    assert done.content == b"done"
    assert manager.full_name == "Иванов Пётр"
