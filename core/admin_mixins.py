"""Shared behaviour of the admin pages of the domain models."""

from __future__ import annotations


class NoDeleteMixin:
    """Nothing is hard-deleted (SPEC §10): dismissals, terminations and declines keep history, so
    the admin offers neither the delete button nor the bulk delete action."""

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


class ReadOnlyMixin(NoDeleteMixin):
    """Rows written only by services or computations: viewable, never edited by hand."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
