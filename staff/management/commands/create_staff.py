"""``manage.py create_staff``: hire one person from the command line (SPEC §8)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.commands import TranslatedCommand
from staff.models import Role, User
from staff.services import staff_create


def _field_errors(error: ValidationError) -> str:
    """``field: message`` lines, so the person at the terminal knows what to fix."""
    if not hasattr(error, "error_dict"):
        return " ".join(error.messages)
    return "\n".join(
        f"{field}: {' '.join(messages)}" for field, messages in sorted(error.message_dict.items())
    )


class Command(TranslatedCommand):
    help = gettext_lazy("Create a member of staff with a role (and a mentor for a client manager).")

    def add_arguments(self, parser):
        parser.add_argument("--role", required=True, help=", ".join(Role.values))
        parser.add_argument("--username", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--full-name", default="", help=gettext_lazy("Default: the username."))
        parser.add_argument("--mentor", default="", help=gettext_lazy("Username of the mentor."))

    def handle(self, *args, role, username, password, full_name, mentor, **options):
        if role not in Role.values:
            raise CommandError(
                _("role: unknown role “%(role)s”; choose one of %(roles)s.")
                % {"role": role, "roles": ", ".join(Role.values)}
            )
        mentor_user = None
        if mentor:
            mentor_user = User.objects.filter(username=mentor).first()
            if mentor_user is None:
                raise CommandError(_("mentor: there is no user “%(name)s”.") % {"name": mentor})
        try:
            user = staff_create(
                actor=None,
                username=username,
                password=password,
                full_name=full_name.strip() or username.strip(),
                role=role,
                mentor=mentor_user,
                hired_on=timezone.localdate(),
            )
        except ValidationError as error:
            raise CommandError(_field_errors(error)) from None
        self.stdout.write(
            _("Created %(username)s (%(role)s).")
            % {"username": user.username, "role": user.get_role_display()}
        )
