"""Forms of the case page (SPEC §3.3). They parse input only; the services decide."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clients.models import InteractionKind, InteractionOutcome
from core.bounds import CALL_DURATION_MAX_MIN, MONTHLY_FEE_MAX
from core.widgets import DateInput
from retention.models import LostCase
from retention.selectors import agreed_return_latest, return_candidates


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: on its field when the form has one, above
    the form otherwise."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, messages in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages)


class AttemptForm(forms.Form):
    """A win-back attempt, logged as an interaction with the client."""

    kind = forms.ChoiceField(
        label=_("Contact method"), choices=InteractionKind.choices, initial=InteractionKind.CALL_OUT
    )
    outcome = forms.ChoiceField(label=_("Outcome"), choices=InteractionOutcome.choices)
    duration_min = forms.IntegerField(
        label=_("Minutes"), min_value=0, max_value=CALL_DURATION_MAX_MIN, initial=0, required=False
    )
    summary = forms.CharField(
        label=_("What was said"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    next_contact_on = forms.DateField(label=_("Next contact"), required=False, widget=DateInput)

    def clean_duration_min(self) -> int:
        return self.cleaned_data["duration_min"] or 0


class FreeMonthForm(forms.Form):
    starts_on = forms.DateField(
        label=_("Free month starts on"),
        widget=DateInput,
        help_text=_("One calendar month of free service, fee 0."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["starts_on"].initial = timezone.localdate


class ManagerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return _("%(name)s — %(load)s / %(capacity)s") % {
            "name": obj.get_full_name(),
            "load": obj.load,
            "capacity": obj.capacity,
        }


class ReturnForm(forms.Form):
    """The client comes back on a new paid contract and goes to a client manager. The picker
    lists active client managers least loaded first and never the one who lost the client, so a
    forged choice of that manager is an invalid choice (the service refuses it too)."""

    manager = ManagerChoiceField(
        label=_("New client manager"),
        queryset=None,
        empty_label=_("Choose a manager"),
        help_text=_("Clients in the book / capacity; the least loaded first."),
        error_messages={
            "invalid_choice": _(
                "Choose an active client manager other than the one who lost the client."
            )
        },
    )
    monthly_fee = forms.DecimalField(
        label=_("Monthly fee, RUB"),
        min_value=Decimal("0"),
        max_value=MONTHLY_FEE_MAX,
        max_digits=12,
        decimal_places=2,
    )
    starts_on = forms.DateField(label=_("Paid service starts on"), widget=DateInput)
    number = forms.CharField(
        label=_("Contract number"),
        max_length=50,
        required=False,
        help_text=_("Left empty, the number is made from the case number."),
    )

    def __init__(self, *args, case: LostCase, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["manager"].queryset = return_candidates(case)
        starts_on = self.fields["starts_on"]
        latest = agreed_return_latest(case)
        if case.agreed_starts_on is not None:
            # Changing an agreed return starts from what was agreed.
            self.fields["manager"].initial = case.agreed_manager_id
            self.fields["monthly_fee"].initial = case.agreed_fee
            self.fields["number"].initial = case.agreed_number
            starts_on.initial = case.agreed_starts_on
        else:
            self.fields["monthly_fee"].initial = case.lost_fee
            # SPEC §3.3: in a free month the client pays from the day after it ends.
            starts_on.initial = latest or timezone.localdate
        if latest is not None:
            starts_on.widget.attrs["max"] = max(latest, timezone.localdate()).isoformat()
            starts_on.help_text = _(
                "At the latest the day after the free month ends. A day ahead is recorded as "
                "an agreed return and carried out on that day; nothing changes before it."
            )


class DeclineForm(forms.Form):
    reason = forms.CharField(
        label=_("Why the client does not come back"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    declined_on = forms.DateField(
        label=_("Declined on"), widget=DateInput, required=False, help_text=_("Today if empty.")
    )
