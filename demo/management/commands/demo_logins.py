"""``manage.py demo_logins``: print the logins of the demo users that still use the demo
password (``make run`` shows them after seeding)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.commands import TranslatedCommand
from demo.logins import demo_logins, demo_logins_table


class Command(TranslatedCommand):
    help = gettext_lazy("Print the demo users' logins (username, role, password).")

    def handle(self, *args, **options):
        logins = demo_logins()
        if not logins:
            self.stdout.write(_("No demo users: run seed_demo first."))
            return
        self.stdout.write(demo_logins_table(logins))
