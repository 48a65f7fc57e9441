"""Forms of the team page (SPEC §3.4, §3.6, §6). Each validates and calls one service."""

from __future__ import annotations

from collections import Counter

from django import forms
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from clients.forms import ServiceForm, date_not_after_today, person_choices
from clients.models import Client, ClientRequest
from clients.selectors import manager_loads
from clients.services import SPREAD, client_request_approve_refusal, client_request_reject_refusal
from core.widgets import DateInput
from staff.models import User
from team.services import staff_dismiss


class RefusalApproveForm(ServiceForm):
    def perform(self, *, actor: User, request: ClientRequest):
        return client_request_approve_refusal(actor=actor, request=request)


class RefusalRejectForm(ServiceForm):
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=90,
        widget=forms.TextInput(attrs={"placeholder": _("What to do instead")}),
    )

    def perform(self, *, actor: User, request: ClientRequest):
        return client_request_reject_refusal(
            actor=actor, request=request, comment=self.cleaned_data["comment"]
        )


class HandoverForm(ServiceForm):
    """SPEC §3.6: a leaving manager's whole book is handed over in one transaction, and the
    person is dismissed. Each client may get its own new manager; the clients without one go to
    the person chosen for the rest, or are spread over the group (``staff.capacity`` rule)."""

    target = forms.ChoiceField(
        label=_("Clients without a choice of their own go to"), required=False
    )
    dismissed_on = forms.DateField(
        label=_("Last working day"),
        widget=DateInput,
        help_text=_("Clients move to their new managers from this day."),
    )
    service_fields = {"handover": "target"}

    def __init__(self, *args, leaving: User, **kwargs):
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        people = manager_loads(User.objects.book_keepers().exclude(pk=leaving.pk))
        self.people = {str(person.pk): person for person in people}
        choices = person_choices(self.people.values(), on=today)
        self.fields["target"].choices = [
            ("", _("Spread over the group, least loaded first")),
            *choices,
        ]
        self.fields["target"].widget.attrs["data-handover-default"] = ""
        self.fields["dismissed_on"].initial = today
        self.leaving = leaving
        self.book = list(Client.objects.filter(manager=leaving).order_by("name", "pk"))
        for client in self.book:
            field = forms.ChoiceField(
                label=client.name, required=False, choices=[("", _("Like the rest")), *choices]
            )
            self.fields[self._name(client)] = field

    @staticmethod
    def _name(client: Client) -> str:
        return f"client_{client.pk}"

    def client_rows(self) -> list[tuple[Client, forms.BoundField, str]]:
        """(client, its choice, the choice's <option>s) for each client of the book, in name
        order. A book is ~150 clients, each offered every book keeper: the options are built
        once and shared by every row left at "like the rest" (Django's widget would render each
        option of each row through a template)."""
        choices = self.fields[self._name(self.book[0])].choices if self.book else []
        shared = self._options(choices, "")
        rows = []
        for client in self.book:
            field = self[self._name(client)]
            chosen = str(field.value() or "")
            rows.append((client, field, self._options(choices, chosen) if chosen else shared))
        return rows

    @staticmethod
    def _options(choices, chosen: str) -> str:
        return format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            ((value, " selected" if value == chosen else "", label) for value, label in choices),
        )

    def clean_dismissed_on(self):
        return date_not_after_today(self.cleaned_data["dismissed_on"], "dismissed_on")

    def _plan(self) -> dict[int, User | str]:
        rest = self.cleaned_data.get("target") or ""
        plan = {}
        for client in self.book:
            chosen = self.cleaned_data.get(self._name(client)) or rest
            plan[client.pk] = self.people[chosen] if chosen else SPREAD
        return plan

    def _summary(self, plan: dict[int, User | str]) -> str:
        """How many clients go to whom (Name: 3, spread over the group: 9), in book order."""
        counts = Counter(
            gettext("spread over the group") if target == SPREAD else str(target)
            for target in plan.values()
        )
        return ", ".join(f"{name}: {count}" for name, count in counts.items())

    def _ask(self, summary: str) -> str:
        count = len(self.book)
        if not count:
            return gettext("Dismiss %(name)s? They have no clients.") % {"name": self.leaving}
        return ngettext(
            "Dismiss %(name)s and hand over %(count)d client: %(summary)s?",
            "Dismiss %(name)s and hand over %(count)d clients: %(summary)s?",
            count,
        ) % {"name": self.leaving, "count": count, "summary": summary}

    def question(self) -> str:
        return self._ask(self._summary(self._plan()))

    def confirm_template(self) -> str:
        """The question with ``{summary}``, which the page's script fills in as choices change."""
        return self._ask("{summary}")

    def perform(self, *, actor: User, user: User):
        return staff_dismiss(
            actor=actor,
            user=user,
            dismissed_on=self.cleaned_data["dismissed_on"],
            handover=self._plan(),
        )
