"""Forms of the referral pipeline's pages (SPEC §14): each hands its input to one service."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from clients.forms import ServiceForm
from clients.models import OPEN_REFERRAL_STATUSES, ClientKind, ReferralStatus
from core.widgets import DateInput, LongSelect
from referrals.access import referral_owner_choices, referrals_visible_to
from referrals.services import referral_give, referral_lose, referral_move, referral_win
from staff.models import User

OPEN_STAGE_CHOICES = [(s.value, s.label) for s in ReferralStatus if s in OPEN_REFERRAL_STATUSES]


class BoardFilterForm(forms.Form):
    """The board's filters: a GET form, so a filtered board has a link."""

    # Plain (id, name) choices: at scale L the director's list holds hundreds of people, and a
    # model instance each would cost more than the board itself.
    owner = forms.TypedChoiceField(
        label=_("Owner"), coerce=int, required=False, empty_value=None, widget=LongSelect
    )
    referrer = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    stage = forms.ChoiceField(
        label=_("Stage"), choices=[("", _("Every stage")), *ReferralStatus.choices], required=False
    )
    overdue = forms.BooleanField(label=_("Next step overdue"), required=False)

    def __init__(self, *args, actor: User, **kwargs):
        super().__init__(*args, **kwargs)
        owners = referrals_visible_to(actor).order_by().values("owner_id").distinct()
        people = User.objects.filter(pk__in=owners).order_by("full_name", "pk")
        self.fields["owner"].choices = [
            ("", _("Anyone")),
            *people.values_list("pk", "full_name"),
        ]


class LeadMoveForm(ServiceForm):
    status = forms.ChoiceField(label=_("Stage"), choices=OPEN_STAGE_CHOICES)
    next_step_on = forms.DateField(label=_("Next step"), required=False, widget=DateInput)
    note = forms.CharField(label=_("Note"), required=False, max_length=300)

    def perform(self, *, actor, referral):
        return referral_move(actor=actor, referral=referral, **self.cleaned_data)


class LeadLoseForm(ServiceForm):
    reason = forms.CharField(
        label=_("Why was it lost?"),
        max_length=300,
        widget=forms.TextInput(attrs={"placeholder": _("For example: chose another vendor")}),
    )

    def perform(self, *, actor, referral):
        return referral_lose(actor=actor, referral=referral, **self.cleaned_data)


class LeadWinForm(ServiceForm):
    """The client a won lead becomes: the lead's organisation and INN, checked again."""

    name = forms.CharField(label=_("Name"), max_length=300)
    inn = forms.CharField(label=_("INN"), max_length=12)
    kpp = forms.CharField(label=_("KPP"), max_length=9, required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=ClientKind.choices)
    region = forms.CharField(label=_("Region"), max_length=120, required=False)
    city = forms.CharField(label=_("City"), max_length=120, required=False)

    def perform(self, *, actor, referral):
        return referral_win(actor=actor, referral=referral, **self.cleaned_data)


class LeadGiveForm(ServiceForm):
    owner = forms.ModelChoiceField(label=_("Give to"), queryset=User.objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.actor is not None:
            self.fields["owner"].queryset = referral_owner_choices(self.actor)

    def perform(self, *, actor, referral):
        return referral_give(actor=actor, referral=referral, **self.cleaned_data)
