"""Forms of the dashboard (SPEC §6). They parse input only; ``kpi.services.goal_set`` decides."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.bounds import GOAL_CLIENTS_MAX
from core.widgets import DateInput
from kpi.dashboard_selectors import DEFAULT_PERIOD
from kpi.planning import BOUNDS

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


# The planner page shows monthly rates in percent (1.8 % a month reads better than 0.018); the API
# and ``kpi.planning`` take shares. Bounds come from ``kpi.planning.BOUNDS`` either way.
PERCENT_INPUTS = frozenset({"churn_controllable", "churn_natural", "return_rate"})


class PlannerForm(forms.Form):
    """The planner's inputs (SPEC §16), one field per ``kpi.planning.BOUNDS`` entry. It parses the
    ranges (in the units it shows); ``kpi.planning.inputs_check`` then applies the API's rule, and
    its errors go back on the fields they name."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, bound in BOUNDS.items():
            scale = 100 if name in PERCENT_INPUTS else 1
            label = f"{bound.label}, %" if scale == 100 else bound.label
            attrs = {
                "min": bound.minimum * scale,
                "max": bound.maximum * scale,
                "step": "1" if bound.integer else "any",
                "inputmode": "numeric" if bound.integer else "decimal",
                "data-testid": f"planner-{name}",
            }
            self.fields[name] = forms.FloatField(
                label=label,
                required=False,
                min_value=bound.minimum * scale,
                max_value=bound.maximum * scale,
                help_text=bound.help,
                widget=forms.NumberInput(attrs=attrs),
            )

    @staticmethod
    def initial_from(inputs) -> dict[str, float]:
        """The form's values for ``PlannerInputs``: rates in percent, rounded for reading."""
        values = {}
        for name, value in inputs.as_dict().items():
            if name in PERCENT_INPUTS:
                values[name] = round(value * 100, 3)
            elif BOUNDS[name].integer:
                values[name] = int(value)
            else:
                values[name] = round(value, 2)
        return values

    def planner_values(self) -> dict[str, float]:
        """The cleaned values as ``kpi.planning`` takes them (shares, not percent); empty ones
        left out, so they take the defaults."""
        values = {}
        for name, value in self.cleaned_data.items():
            if value is None:
                continue
            values[name] = value / 100 if name in PERCENT_INPUTS else value
        return values

    def add_planner_errors(self, error: ValidationError) -> None:
        for field, messages in error.message_dict.items():
            self.add_error(field if field in self.fields else None, messages)
