"""The one client FilterSet, shared by the clients page and the API (SPEC §6, §7)."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clients.access import clients_visible_to
from clients.models import AcquisitionChannel, ClientKind, ClientStatus
from clients.selectors import contact_cadence_cutoff
from core.widgets import LongSelect
from staff.models import User

# Allow-listed orderings: the query parameter value → the ORDER BY it means. The primary key ends
# every ordering so that pages never shuffle rows between requests.
ORDERINGS = {
    "name": ("name", "pk"),
    "status": ("status", "name", "pk"),
    "manager": ("manager__full_name", "name", "pk"),
    "-created_at": ("-created_at", "-pk"),
}
ORDERING_CHOICES = [
    ("name", _("Name")),
    ("status", _("Status")),
    ("manager", _("Manager")),
    ("-created_at", _("Newest first")),
]


def visible_managers(request) -> object:
    """Managers offered by the ``manager`` filter: only those owning a client the user can see,
    so the list never reveals the rest of the department."""
    if request is None:
        return User.objects.none()
    return User.objects.filter(
        pk__in=clients_visible_to(request.user).filter(manager__isnull=False).values("manager_id")
    ).order_by("full_name", "pk")


class ClientListFilter(django_filters.FilterSet):
    """What every client list filters on: search, status, kind, city, and an allow-listed
    ordering. A subclass names its ``orderings`` (parameter value → ORDER BY) and declares the
    ``ordering`` choice field over them; ``"name"`` is the default."""

    orderings: dict[str, tuple] = {}

    search = django_filters.CharFilter(
        method="filter_search",
        label=_("Search"),
        help_text=_("Name or the beginning of the INN"),
        max_length=300,
        widget=forms.SearchInput(attrs={"placeholder": _("Name or INN")}),
    )
    status = django_filters.ChoiceFilter(
        choices=ClientStatus.choices, label=_("Status"), empty_label=_("All")
    )
    kind = django_filters.ChoiceFilter(
        choices=ClientKind.choices, label=_("Kind"), empty_label=_("All")
    )
    city = django_filters.CharFilter(lookup_expr="icontains", label=_("City"), max_length=120)

    class Meta:
        # Fields are declared; nothing is generated from the model.
        fields: list[str] = []

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("ordering"):
            queryset = queryset.order_by(*self.orderings["name"])
        return queryset

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(inn__startswith=value))

    def filter_ordering(self, queryset, name, value):
        return queryset.order_by(*self.orderings[value])


class ClientFilter(ClientListFilter):
    orderings = ORDERINGS

    acquisition_channel = django_filters.ChoiceFilter(
        choices=AcquisitionChannel.choices, label=_("Channel"), empty_label=_("All")
    )
    manager = django_filters.ModelChoiceFilter(
        queryset=visible_managers, label=_("Manager"), empty_label=_("All"), widget=LongSelect
    )
    ordering = django_filters.ChoiceFilter(
        choices=ORDERING_CHOICES,
        method="filter_ordering",
        label=_("Sort by"),
        empty_label=None,
    )


# --- the manager's own book on /my/ (SPEC §6) -------------------------------------------------

LAST_CONTACT_CHOICES = [
    ("in_time", _("Reached within the cadence")),
    ("late", _("Not reached within the cadence")),
    ("never", _("Never contacted")),
]
OVERDUE_CHOICES = [
    ("yes", _("Something overdue")),
    ("no", _("Nothing overdue")),
]
BOOK_ORDERINGS = {
    "name": ("name", "pk"),
    "last_contact": (F("last_reached_at").asc(nulls_first=True), "name", "pk"),
    "risk": ("-risk_score", "name", "pk"),
    "next_contact": (F("next_contact_on").asc(nulls_last=True), "name", "pk"),
    "-fee": (F("current_fee").desc(nulls_last=True), "name", "pk"),
}
BOOK_ORDERING_CHOICES = [
    ("name", _("Name")),
    ("last_contact", _("Longest without contact")),
    ("risk", _("Highest risk")),
    ("next_contact", _("Next planned contact")),
    ("-fee", _("Highest fee")),
]


class BookFilter(ClientListFilter):
    """Filters of the manager's own book. Expects the queryset annotated by
    ``clients.selectors.clients_with_workspace_signals``."""

    orderings = BOOK_ORDERINGS

    last_contact = django_filters.ChoiceFilter(
        choices=LAST_CONTACT_CHOICES,
        method="filter_last_contact",
        label=_("Last contact"),
        empty_label=_("Any"),
    )
    overdue = django_filters.ChoiceFilter(
        choices=OVERDUE_CHOICES,
        method="filter_overdue",
        label=_("Overdue"),
        empty_label=_("Any"),
        help_text=_("A request past its due time or a task past its day"),
    )
    ordering = django_filters.ChoiceFilter(
        choices=BOOK_ORDERING_CHOICES,
        method="filter_ordering",
        label=_("Sort by"),
        empty_label=None,
    )

    def filter_last_contact(self, queryset, name, value):
        cutoff = contact_cadence_cutoff(timezone.localdate())
        if value == "in_time":
            return queryset.filter(last_reached_at__gte=cutoff)
        if value == "late":
            return queryset.filter(Q(last_reached_at__isnull=True) | Q(last_reached_at__lt=cutoff))
        return queryset.filter(last_contact_at__isnull=True)

    def filter_overdue(self, queryset, name, value):
        overdue = Q(overdue_requests__gt=0) | Q(overdue_tasks__gt=0)
        return queryset.filter(overdue) if value == "yes" else queryset.exclude(overdue)
