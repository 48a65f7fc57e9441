"""/inbox/ and the header bell (SPEC §11): newest first, read on opening, "mark all read", the
count on every page, and nobody reads another person's notifications."""

from __future__ import annotations

import datetime

import pytest
from freezegun import freeze_time

from inbox.models import Notification, NotificationKind
from inbox.selectors import unread_count
from inbox.services import notify
from tests.factories import ClientFactory


@pytest.fixture
def two_notices(manager, mentor):
    school = ClientFactory(name="МБОУ СОШ № 7", manager=manager)
    with freeze_time("2026-12-03 03:00:00"):
        older = notify(
            recipient=manager,
            actor=mentor,
            kind=NotificationKind.REFUSAL_APPROVED,
            client=school,
            url=f"/clients/{school.pk}/",
            by="Наставник Олег",
            topic="Настроить ЭДО",
        )
    with freeze_time("2026-12-04 03:00:00"):
        newer = notify(
            recipient=manager,
            actor=mentor,
            kind=NotificationKind.TASK_GIVEN,
            client=school,
            url=f"/clients/{school.pk}/",
            by="Наставник Олег",
            title="Позвонить главбуху",
            due_on=datetime.date(2026, 12, 7).isoformat(),
        )
    return older, newer


def test_the_bell_shows_the_unread_count_on_every_page(client, manager, two_notices):
    client.force_login(manager)

    for url in ("/clients/", "/my/", "/inbox/"):
        page = client.get(url).content.decode()
        assert 'data-testid="bell-count">2</span>' in page, url
        assert 'aria-label="Уведомления: 2 непрочитанных"' in page


def test_the_inbox_lists_newest_first_in_the_readers_language(client, manager, two_notices):
    client.force_login(manager)

    page = client.get("/inbox/").content.decode()

    newer = page.index("Задача от Наставник Олег по клиенту «МБОУ СОШ № 7», срок 07.12.2026: ")
    older = page.index("Отказ по обращению «Настроить ЭДО» клиента «МБОУ СОШ № 7» одобрен")
    assert newer < older
    assert page.count('class="inbox-item inbox-unread"') == 2


def test_the_inbox_reads_in_english_after_switching_language(
    client, english_pages, manager, two_notices
):
    client.force_login(manager)

    page = client.get("/inbox/").content.decode()

    assert "Наставник Олег approved refusing «Настроить ЭДО» of «МБОУ СОШ № 7»." in page


def test_opening_a_notification_marks_it_read_and_follows_its_link(client, manager, two_notices):
    older, newer = two_notices
    client.force_login(manager)

    response = client.get(f"/inbox/{newer.pk}/")

    assert response.status_code == 302
    assert response["Location"] == newer.url
    newer.refresh_from_db()
    older.refresh_from_db()
    assert newer.read_at is not None
    assert older.read_at is None
    assert unread_count(manager) == 1


def test_nobody_opens_another_persons_notification(client, colleague, two_notices):
    client.force_login(colleague)

    assert client.get(f"/inbox/{two_notices[0].pk}/").status_code == 404
    assert Notification.objects.filter(read_at__isnull=False).count() == 0


def test_mark_all_read_empties_the_bell(client, manager, two_notices):
    client.force_login(manager)

    assert client.get("/inbox/read-all/").status_code == 405
    response = client.post("/inbox/read-all/")

    assert response.status_code == 302
    assert unread_count(manager) == 0
    page = client.get("/inbox/").content.decode()
    assert 'data-testid="bell-count"' not in page
    assert 'data-testid="read-all"' not in page


def test_the_bell_refreshes_alone(client, manager, two_notices):
    client.force_login(manager)

    bell = client.get("/inbox/bell/").content.decode()

    assert 'hx-trigger="every 60s"' in bell
    assert 'data-testid="bell-count">2</span>' in bell


def test_an_empty_inbox_says_what_will_appear(client, colleague):
    client.force_login(colleague)

    page = client.get("/inbox/").content.decode()

    assert "Пока пусто: когда вам передадут работу, она появится здесь." in page


def test_the_inbox_needs_a_sign_in(client):
    response = client.get("/inbox/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_the_unread_count_is_one_query(django_assert_num_queries, manager, two_notices):
    with django_assert_num_queries(1):
        assert unread_count(manager) == 2
