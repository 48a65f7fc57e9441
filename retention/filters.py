"""The one lost-case FilterSet, shared by the queue page and the API (SPEC §6, §7)."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from clients.models import TerminationReason
from core.api import IdFilter
from core.widgets import LongSelect
from retention.access import cases_in_queue_for
from retention.models import ACTIVE_CASE_STATUSES, CaseStatus, LostCase
from staff.models import User

# The queue's default: every case still being worked (open, claimed, free month).
IN_WORK = "active"
STATUS_CHOICES = [(IN_WORK, _("Being worked")), *CaseStatus.choices]


def lost_by_choices(request):
    """Managers who lost a case the user may open, so the list reveals no one else."""
    if request is None or not request.user.is_authenticated:
        return User.objects.none()
    return User.objects.filter(
        pk__in=cases_in_queue_for(request.user).filter(lost_by__isnull=False).values("lost_by_id")
    ).order_by("full_name", "pk")


class LostCaseFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=STATUS_CHOICES, method="filter_status", label=_("Status"), empty_label=_("All")
    )
    reason = django_filters.ChoiceFilter(
        choices=TerminationReason.choices, label=_("Reason"), empty_label=_("All")
    )
    region = django_filters.ChoiceFilter(
        field_name="client__region", choices=[], label=_("Region"), empty_label=_("All")
    )
    lost_by = django_filters.ModelChoiceFilter(
        queryset=lost_by_choices, label=_("Lost by"), empty_label=_("All"), widget=LongSelect
    )
    client = IdFilter(field_name="client_id", label=_("Client"))

    class Meta:
        model = LostCase
        # Fields are declared above; nothing is generated from the model.
        fields: list[str] = []

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        super().__init__(data, queryset, request=request, prefix=prefix)
        # The regions offered are those of the cases being filtered: one query, no free text.
        regions = (
            self.queryset.exclude(client__region="")
            .order_by("client__region")
            .values_list("client__region", flat=True)
            .distinct()
        )
        self.filters["region"].extra["choices"] = lambda: [(r, r) for r in regions]

    def filter_status(self, queryset, name, value):
        if value == IN_WORK:
            return queryset.filter(status__in=ACTIVE_CASE_STATUSES)
        return queryset.filter(status=value)
