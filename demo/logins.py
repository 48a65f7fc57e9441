"""The demo users and how they log in: one shared password, printed by seed_demo and demo_logins."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.hashers import check_password, make_password
from django.utils.translation import gettext as _

from demo.department import BASE_CLIENTS, Person, staff_plan
from staff.models import Role, User

# Every demo user logs in with this password.
DEMO_PASSWORD = "abonent-demo"
# A fixed salt: all demo users share one password hash, so demo_logins checks each hash once.
_DEMO_SALT = "abonentdemo"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    full_name: str
    role: str
    password: str


def demo_password_hash() -> str:
    """The stored form of DEMO_PASSWORD, the same for every demo user."""
    return make_password(DEMO_PASSWORD, salt=_DEMO_SALT)


def demo_usernames(*, clients: int = BASE_CLIENTS) -> list[str]:
    """The usernames seed_demo creates for a base of ``clients``."""
    return [person.username for person in staff_plan(clients)]


def staff_logins(people: list[Person]) -> list[DemoLogin]:
    """The logins of the seeded staff still employed, in id order (the director first)."""
    return [
        DemoLogin(p.username, p.full_name, p.role, DEMO_PASSWORD)
        for p in people
        if p.dismissed_on is None
    ]


def demo_logins() -> list[DemoLogin]:
    """Active users whose password is still the demo password, director first."""
    users = list(
        User.objects.filter(is_active=True)
        .order_by("pk")
        .values_list("username", "full_name", "role", "password")
    )
    verdicts: dict[str, bool] = {}
    for *_fields, encoded in users:
        if encoded not in verdicts:
            verdicts[encoded] = bool(encoded) and check_password(DEMO_PASSWORD, encoded)
    order = {role: i for i, role in enumerate(Role.values)}
    found = [
        DemoLogin(username, full_name, role, DEMO_PASSWORD)
        for username, full_name, role, encoded in users
        if verdicts[encoded]
    ]
    return sorted(found, key=lambda login: order.get(login.role, len(order)))


def demo_logins_table(logins: list[DemoLogin]) -> str:
    """The logins as an aligned text table, for the commands."""
    labels = dict(Role.choices)
    rows = [
        (_("Username"), _("Role"), _("Full name"), _("Password")),
        *((x.username, str(labels.get(x.role, x.role)), x.full_name, x.password) for x in logins),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    return "\n".join([_("Demo logins:"), *lines])
