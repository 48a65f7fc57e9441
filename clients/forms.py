"""Forms of the client pages: each validates its input and hands it to one service (SPEC §3.4,
§6, §10). Nothing here writes to a model; the service does, in one transaction."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from clients.models import (
    ClientRequest,
    InteractionKind,
    InteractionOutcome,
    RequestUrgency,
)
from clients.services import (
    client_request_create,
    client_request_refuse,
    interaction_log,
    referral_create,
)
from core.errors import Conflict


class ServiceForm(forms.Form):
    """A form whose cleaned data goes to one service (``perform``).

    ``submit(**context)`` returns True once the service succeeded (its return value is in
    ``result``). A ``ValidationError`` from the service lands next to the field it names
    (``service_fields`` renames the service's names to the form's); a lost race (``Conflict``)
    or a refusal (``PermissionDenied``) becomes a message above the form.
    """

    service_fields: dict[str, str] = {}

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


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


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
    next_contact_on = forms.DateField(label=_("Next contact"), required=False, widget=_date_input())

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
