"""Forms of the client pages: each validates its input and hands it to one service (SPEC §3.4,
§6, §10). Nothing here writes to a model; the service does, in one transaction."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from clients.access import clients_visible_to, reassign_targets
from clients.models import (
    Client,
    ClientRequest,
    InteractionKind,
    InteractionOutcome,
    ReferralAsk,
    RequestUrgency,
)
from clients.selectors import manager_loads
from clients.services import (
    SPREAD,
    client_reassign,
    client_request_create,
    client_request_refuse,
    clients_reassign_many,
    default_reassign_reason,
    interaction_log,
    referral_create,
    task_give,
)
from core.bounds import business_date_check
from core.errors import Conflict
from core.widgets import DateInput
from staff.access import task_assignees_for
from staff.capacity import effective_capacity, ramp_factor
from staff.models import User


class ServiceForm(forms.Form):
    """A form whose cleaned data goes to one service (``perform``).

    ``submit(**context)`` returns True once the service succeeded (its return value is in
    ``result``). A ``ValidationError`` from the service lands next to the field it names
    (``service_fields`` renames the service's names to the form's); a lost race (``Conflict``)
    or a refusal (``PermissionDenied``) becomes a message above the form.
    """

    service_fields: dict[str, str] = {}

    def __init__(self, *args, actor: User | None = None, client: Client | None = None, **kwargs):
        # Who fills the form in and for which client, for forms whose choices depend on them.
        super().__init__(*args, **kwargs)
        self.actor, self.client = actor, client

    def perform(self, **context) -> Any:
        raise NotImplementedError

    def submit(self, **context) -> bool:
        self.result = None
        if not self.is_valid():
            return False
        try:
            self.result = self.perform(**context)
        except ValidationError as error:
            self.add_service_error(error)
            return False
        except Conflict as error:
            self.add_error(None, error.message)
            return False
        except PermissionDenied as error:
            self.add_error(None, str(error) or _("You cannot do this."))
            return False
        return True

    def add_service_error(self, error: ValidationError) -> None:
        if not hasattr(error, "error_dict"):
            self.add_error(None, error.messages)
            return
        for name, messages in error.message_dict.items():
            name = self.service_fields.get(name, name)
            self.add_error(name if name in self.fields else None, messages)


class LogCallForm(ServiceForm):
    """Log a call or another contact: the defaults (outgoing call, reached) make the usual case a
    summary and one click."""

    kind = forms.ChoiceField(
        label=_("Kind"), choices=InteractionKind.choices, initial=InteractionKind.CALL_OUT
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=InteractionOutcome.choices, initial=InteractionOutcome.REACHED
    )
    summary = forms.CharField(
        label=_("Summary"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": _("What was discussed")}),
    )
    next_contact_on = forms.DateField(label=_("Next contact"), required=False, widget=DateInput)
    # SPEC §14: shown when the client is in good standing (``referral_ask_due``).
    referral_asked = forms.ChoiceField(
        label=_("Asked for a referral?"),
        choices=ReferralAsk.choices,
        required=False,
        widget=forms.RadioSelect,
    )

    def perform(self, *, actor, client):
        return interaction_log(actor=actor, client=client, **self.cleaned_data)


class LogRequestForm(ServiceForm):
    """Log a client's request; the service computes ``due_at`` from the SLA."""

    topic = forms.CharField(
        label=_("Topic"),
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("What the client asks for")}),
    )
    urgency = forms.ChoiceField(
        label=_("Urgency"),
        choices=RequestUrgency.choices,
        initial=RequestUrgency.NORMAL,
        widget=forms.RadioSelect,
    )
    description = forms.CharField(
        label=_("Details"), required=False, max_length=5000, widget=forms.Textarea({"rows": 2})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        days = settings.REQUEST_SLA_NORMAL_WORKING_DAYS
        hours = settings.REQUEST_SLA_URGENT_HOURS
        normal = ngettext(
            "normal: within %(days)d working day",
            "normal: within %(days)d working days",
            days,
        ) % {"days": days}
        urgent = ngettext(
            "urgent: within %(hours)d hour", "urgent: within %(hours)d hours", hours
        ) % {"hours": hours}
        self.fields["urgency"].help_text = _("Due time: %(normal)s, %(urgent)s.") % {
            "normal": normal,
            "urgent": urgent,
        }

    def perform(self, *, actor, client):
        return client_request_create(actor=actor, client=client, **self.cleaned_data)


class ReferralForm(ServiceForm):
    """A lead this client named (SPEC §2 Referral)."""

    organisation = forms.CharField(
        label=_("Organisation"),
        max_length=300,
        widget=forms.TextInput(attrs={"placeholder": _("Who the client recommends us to")}),
    )
    contact = forms.CharField(
        label=_("Contact"),
        required=False,
        max_length=300,
        widget=forms.TextInput(attrs={"placeholder": _("Name, phone")}),
    )
    # Room for the spaces and dashes people type between the digits; the service drops them.
    inn = forms.CharField(label=_("INN"), required=False, max_length=20)
    comment = forms.CharField(
        label=_("Comment"), required=False, max_length=5000, widget=forms.Textarea({"rows": 2})
    )

    def perform(self, *, actor, client):
        return referral_create(actor=actor, referrer=client, **self.cleaned_data)


class RefuseRequestForm(ServiceForm):
    """Ask to refuse a request: it waits for the mentor's (or director's) approval, SPEC §3.4."""

    reason = forms.CharField(
        label=_("Why refuse"), max_length=5000, widget=forms.Textarea({"rows": 2})
    )

    def perform(self, *, actor, request: ClientRequest):
        return client_request_refuse(
            actor=actor, request=request, reason=self.cleaned_data["reason"]
        )


# --- reassignment (SPEC §2, §3.6) ------------------------------------------------------------


def person_label(person: User, *, on: datetime.date) -> str:
    """A person to give clients to, with ``load`` (``manager_loads``) against what they can serve
    today: a trainee's capacity is ``capacity × ramp factor`` (SPEC §15)."""
    values = {
        "name": person,
        "load": person.load,
        "capacity": int(effective_capacity(person, on)),
    }
    if ramp_factor(person, on) < 1:
        return gettext("%(name)s — %(load)d of %(capacity)d clients (trainee)") % values
    return gettext("%(name)s — %(load)d of %(capacity)d clients") % values


def person_choices(people: Iterable[User], *, on: datetime.date) -> list[tuple[str, str]]:
    return [(str(person.pk), person_label(person, on=on)) for person in people]


def date_not_after_today(value: datetime.date, field: str) -> datetime.date:
    """SPEC §10 for a reassignment date, checked before the confirmation step: the service
    checks it again."""
    try:
        business_date_check(value, field=field, not_after_today=True)
    except ValidationError as error:
        raise ValidationError(error.message_dict[field]) from None
    return value


class ClientReassignForm(ServiceForm):
    """One client to another manager from its card: among the people the actor may give clients
    to (``clients.access.reassign_targets``), effective today or a day in the past."""

    manager = forms.ChoiceField(label=_("Give the client to"))
    effective_on = forms.DateField(
        label=_("From"),
        widget=DateInput,
        help_text=_("Today or a day in the past: from this day the client is in the new book."),
    )

    def __init__(self, *args, actor: User, client: Client, **kwargs):
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        people = manager_loads(reassign_targets(actor).exclude(pk=client.manager_id))
        self.people = {str(person.pk): person for person in people}
        self.fields["manager"].choices = [
            ("", _("Choose a manager")),
            *person_choices(self.people.values(), on=today),
        ]
        self.fields["manager"].widget.attrs["data-confirm-target"] = ""
        self.fields["effective_on"].initial = today
        self.client = client

    def clean_effective_on(self):
        return date_not_after_today(self.cleaned_data["effective_on"], "effective_on")

    def question(self) -> str:
        return gettext("Give %(client)s to %(name)s?") % {
            "client": self.client.name,
            "name": self.people[self.cleaned_data["manager"]],
        }

    def confirm_template(self) -> str:
        """The question with ``{target}`` for the chosen person, filled in by the page's script."""
        return gettext("Give %(client)s to %(name)s?") % {
            "client": self.client.name,
            "name": "{target}",
        }

    def perform(self, *, actor: User, client: Client):
        return client_reassign(
            actor=actor,
            client=client,
            manager=self.people[self.cleaned_data["manager"]],
            effective_on=self.cleaned_data["effective_on"],
            reason=default_reassign_reason(actor),
        )


class ClientsReassignForm(ServiceForm):
    """A selection of the client list to one person or spread (``clients_reassign_many``).

    The rows' checkboxes send ``clients``; "select all on this page" sends ``all_on_page`` with
    the page's ids in ``page_clients``, so it works without JavaScript too."""

    clients = forms.ModelMultipleChoiceField(
        label=_("Clients"), queryset=Client.objects.none(), required=False
    )
    page_clients = forms.ModelMultipleChoiceField(
        queryset=Client.objects.none(), required=False, widget=forms.MultipleHiddenInput
    )
    all_on_page = forms.BooleanField(label=_("Select all on this page"), required=False)
    target = forms.ChoiceField(label=_("Give to"))
    effective_on = forms.DateField(label=_("From"), widget=DateInput)

    def __init__(self, *args, actor: User, **kwargs):
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        visible = clients_visible_to(actor)
        self.fields["clients"].queryset = visible
        self.fields["page_clients"].queryset = visible
        self.people = {str(person.pk): person for person in manager_loads(reassign_targets(actor))}
        self.fields["target"].choices = [
            (SPREAD, _("Spread over their groups, least loaded first")),
            *person_choices(self.people.values(), on=today),
        ]
        self.fields["target"].widget.attrs["data-confirm-target"] = ""
        self.fields["effective_on"].initial = today

    def clean_effective_on(self):
        return date_not_after_today(self.cleaned_data["effective_on"], "effective_on")

    def clean(self):
        cleaned = super().clean()
        chosen = cleaned.get("page_clients") if cleaned.get("all_on_page") else None
        chosen = chosen or cleaned.get("clients")
        cleaned["selected"] = list(chosen.order_by("pk")) if chosen else []
        if not cleaned["selected"] and "clients" not in self.errors:
            self.add_error("clients", _("Choose at least one client."))
        return cleaned

    def selected_ids(self) -> set[str]:
        """The ids to show checked again when the form comes back with errors."""
        if not self.is_bound:
            return set()
        if self.data.get("all_on_page"):
            return set(self.data.getlist("page_clients"))
        return set(self.data.getlist("clients"))

    def _target(self) -> User | str:
        target = self.cleaned_data["target"]
        return SPREAD if target == SPREAD else self.people[target]

    def question(self) -> str:
        count, target = len(self.cleaned_data["selected"]), self._target()
        values = {"count": count, "name": target}
        if target == SPREAD:
            return (
                ngettext(
                    "Spread %(count)d client over the least loaded of their group?",
                    "Spread %(count)d clients over the least loaded of their groups?",
                    count,
                )
                % values
            )
        return (
            ngettext(
                "Give %(count)d client to %(name)s?", "Give %(count)d clients to %(name)s?", count
            )
            % values
        )

    def confirm_template(self) -> str:
        """The question for the page's script: ``{count}`` selected, ``{target}`` chosen."""
        return gettext("Clients selected: %(count)s. Give them to: %(target)s?") % {
            "count": "{count}",
            "target": "{target}",
        }

    def perform(self, *, actor: User):
        return clients_reassign_many(
            actor=actor,
            clients=self.cleaned_data["selected"],
            target=self._target(),
            effective_on=self.cleaned_data["effective_on"],
            reason=default_reassign_reason(actor),
        )


class GiveTaskForm(ServiceForm):
    """A task on this client for oneself or a colleague (``clients.services.task_give``; whom
    one may give tasks is ``staff.access.task_assignees_for``, and they are told)."""

    assignee = forms.ChoiceField(label=_("For"))
    title = forms.CharField(
        label=_("Task"),
        max_length=300,
        widget=forms.TextInput(attrs={"placeholder": _("What is to be done")}),
    )
    due_on = forms.DateField(label=_("Due"), widget=DateInput)

    def __init__(self, *args, actor: User, client: Client, **kwargs):
        super().__init__(*args, actor=actor, client=client, **kwargs)
        people = task_assignees_for(actor).order_by("full_name", "pk")
        self.people = {str(person.pk): person for person in people}
        self.fields["assignee"].choices = [
            (pk, person.get_full_name()) for pk, person in self.people.items()
        ]
        chosen = client.manager_id if str(client.manager_id) in self.people else actor.pk
        self.fields["assignee"].initial = str(chosen)
        self.fields["due_on"].initial = timezone.localdate()

    def perform(self, *, actor: User, client: Client):
        return task_give(
            actor=actor,
            client=client,
            assignee=self.people[self.cleaned_data["assignee"]],
            title=self.cleaned_data["title"],
            due_on=self.cleaned_data["due_on"],
        )
