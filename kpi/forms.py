"""Forms of the dashboard (SPEC §6). They parse input only; ``kpi.services.goal_set`` decides."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.bounds import GOAL_CLIENTS_MAX
from kpi.dashboard_selectors import DEFAULT_PERIOD

PERIOD_CHOICES = [
    ("6", _("6 months")),
    ("12", _("12 months")),
    ("24", _("24 months")),
    ("36", _("36 months")),
    ("all", _("All history")),
]

EXPORT_FORMATS = ("csv", "xlsx")


class PeriodForm(forms.Form):
    """The months the charts and tables cover, ending with the latest computed month."""

    period = forms.ChoiceField(label=_("Period"), choices=PERIOD_CHOICES, required=False)

    def period_key(self) -> str:
        """The chosen period; the default one for a missing or unknown value (a stale link must
        still open the dashboard)."""
        if self.is_valid() and self.cleaned_data["period"]:
            return self.cleaned_data["period"]
        return DEFAULT_PERIOD


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class GoalForm(forms.Form):
    start_on = forms.DateField(label=_("Start date"), widget=DateInput)
    start_clients = forms.IntegerField(
        label=_("Clients at start"),
        min_value=1,
        max_value=GOAL_CLIENTS_MAX,
        help_text=_("The paying base on the start date."),
    )
    target_on = forms.DateField(label=_("Target date"), widget=DateInput)
    target_clients = forms.IntegerField(
        label=_("Target clients"), min_value=1, max_value=GOAL_CLIENTS_MAX
    )

    def add_service_errors(self, error: ValidationError) -> None:
        """Show the service's errors on the fields they name, the rest above the form."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for field, messages in error.message_dict.items():
            self.add_error(field if field in self.fields else None, messages)
