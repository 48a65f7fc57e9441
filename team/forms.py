"""Forms of the team page (SPEC §3.4, §3.6, §6). Each validates and calls one service."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clients.forms import ServiceForm
from clients.models import Client, ClientRequest
from clients.selectors import manager_loads
from clients.services import SPREAD, client_request_approve_refusal, client_request_reject_refusal
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


class TargetChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return _("%(name)s — %(load)d of %(capacity)d clients") % {
            "name": obj,
            "load": obj.load,
            "capacity": obj.capacity,
        }


class HandoverForm(ServiceForm):
    """SPEC §3.6: a leaving manager's whole book goes to one colleague or is spread evenly among
    the group, in one transaction, and the person is dismissed."""

    target = TargetChoiceField(
        label=_("Hand the clients to"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Spread evenly among the group, least loaded first"),
    )
    dismissed_on = forms.DateField(
        label=_("Last working day"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Clients move to their new managers from this day."),
    )
    service_fields = {"handover": "target"}

    def __init__(self, *args, leaving: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].queryset = manager_loads(
            User.objects.book_keepers().exclude(pk=leaving.pk)
        )
        self.fields["dismissed_on"].initial = timezone.localdate()

    def perform(self, *, actor: User, user: User):
        target = self.cleaned_data["target"]
        handover = SPREAD
        if target is not None:
            book = Client.objects.filter(manager=user).values_list("pk", flat=True)
            handover = dict.fromkeys(book, target)
        return staff_dismiss(
            actor=actor,
            user=user,
            dismissed_on=self.cleaned_data["dismissed_on"],
            handover=handover,
        )
