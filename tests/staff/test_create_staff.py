"""``manage.py create_staff`` (SPEC §8): hires one person, or names the bad field and writes
nothing."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from staff.models import Role, User

GOOD_PASSWORD = "Kopeyka-2026-otchet"


def create_staff(*args: str) -> str:
    out = io.StringIO()
    call_command("create_staff", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_creates_a_client_manager_in_a_mentors_group(mentor):
    output = create_staff(
        "--role", "client_manager",
        "--username", "petrova",
        "--password", GOOD_PASSWORD,
        "--full-name", "Петрова Анна Сергеевна",
        "--mentor", "mentor",
    )  # fmt: skip

    user = User.objects.get(username="petrova")
    assert user.role == Role.CLIENT_MANAGER
    assert user.full_name == "Петрова Анна Сергеевна"
    assert user.mentor == mentor
    assert user.is_active
    assert user.check_password(GOOD_PASSWORD)
    assert user.password != GOOD_PASSWORD
    assert user.history.count() == 1
    assert "petrova" in output


@pytest.mark.django_db
def test_full_name_defaults_to_the_username():
    create_staff("--role", "director", "--username", "boss", "--password", GOOD_PASSWORD)

    user = User.objects.get(username="boss")
    assert user.full_name == "boss"
    assert user.role == Role.DIRECTOR
    assert user.mentor is None


@pytest.mark.django_db
def test_unknown_role_is_refused():
    with pytest.raises(CommandError, match=r"^role: "):
        create_staff("--role", "cashier", "--username", "ivanov", "--password", GOOD_PASSWORD)

    assert not User.objects.exists()


@pytest.mark.django_db
def test_mentor_that_does_not_exist_is_refused():
    with pytest.raises(CommandError, match=r"^mentor: "):
        create_staff(
            "--role", "client_manager", "--username", "ivanov", "--password", GOOD_PASSWORD,
            "--mentor", "nobody",
        )  # fmt: skip

    assert not User.objects.exists()


@pytest.mark.django_db
def test_mentor_who_is_not_a_mentor_is_refused(manager):
    users = User.objects.count()

    with pytest.raises(CommandError, match=r"^mentor: "):
        create_staff(
            "--role", "client_manager", "--username", "ivanov", "--password", GOOD_PASSWORD,
            "--mentor", manager.username,
        )  # fmt: skip

    assert User.objects.count() == users
    assert not User.objects.filter(username="ivanov").exists()


@pytest.mark.django_db
def test_dismissed_mentor_is_refused(mentor):
    User.objects.filter(pk=mentor.pk).update(is_active=False)

    with pytest.raises(CommandError, match=r"^mentor: "):
        create_staff(
            "--role", "client_manager", "--username", "ivanov", "--password", GOOD_PASSWORD,
            "--mentor", "mentor",
        )  # fmt: skip

    assert not User.objects.filter(username="ivanov").exists()


@pytest.mark.django_db
def test_duplicate_username_is_refused(manager):
    before = User.objects.get(pk=manager.pk)

    with pytest.raises(CommandError, match=r"^username: "):
        create_staff(
            "--role", "sales_manager", "--username", "manager", "--password", GOOD_PASSWORD
        )

    after = User.objects.get(pk=manager.pk)
    assert after.role == Role.CLIENT_MANAGER
    assert after.password == before.password
    assert User.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("password", ["short1", "12345678901", "password123", "ivanov-ivanov"])
def test_password_the_validators_reject_is_refused(password):
    with pytest.raises(CommandError, match=r"^password: "):
        create_staff("--role", "mentor", "--username", "ivanov-ivanov", "--password", password)

    assert not User.objects.exists()


@pytest.mark.django_db
def test_missing_required_option_is_refused():
    with pytest.raises(CommandError, match="--password"):
        create_staff("--role", "mentor", "--username", "ivanov")

    assert not User.objects.exists()
