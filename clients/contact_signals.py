"""The contact signals kept on each client row: when the client was last contacted, last reached,
last complained, and the next contact planned at the latest contact.

They are facts about the client's interactions, derived here and nowhere else. Pages read them as
columns (SPEC §9: the workspace, the card, the team page and the API must not search millions of
interactions per client on every request). They are refreshed

- for one client whenever one of its interactions is saved (``interaction_saved``, a signal, so
  the service, the admin and the factories all keep them current);
- for every client by the demo seed after its bulk load, and by the nightly chain, which also
  heals anything written around the ORM (a bulk insert, raw SQL).
"""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery

from clients.models import Client, Interaction, InteractionOutcome


def _latest(rows: QuerySet, column: str) -> Subquery:
    return Subquery(rows.order_by("-occurred_at", "-pk").values(column)[:1])


def contact_signals_refresh(clients: QuerySet[Client] | None = None) -> int:
    """Recompute the contact signals of ``clients`` (every client when None) from their
    interactions, in one UPDATE; returns the number of rows updated.

    - ``last_contact_at``: the latest interaction of any outcome;
    - ``last_reached_at``: the latest with outcome "reached" (SPEC §3.5 cadence);
    - ``last_complaint_at``: the latest with outcome "complaint";
    - ``next_contact_on``: the next contact planned at the latest interaction (empty when the
      latest one planned none).
    """
    contacts = Interaction.objects.filter(client=OuterRef("pk"))
    rows = Client.objects.all() if clients is None else clients
    return rows.order_by().update(
        last_contact_at=_latest(contacts, "occurred_at"),
        last_reached_at=_latest(contacts.filter(outcome=InteractionOutcome.REACHED), "occurred_at"),
        last_complaint_at=_latest(
            contacts.filter(outcome=InteractionOutcome.COMPLAINT), "occurred_at"
        ),
        next_contact_on=_latest(contacts, "next_contact_on"),
    )


def interaction_saving(sender, instance: Interaction, raw: bool = False, **kwargs) -> None:
    """pre_save of Interaction: remember which client an edited interaction belonged to, so
    that moving it to another client refreshes both."""
    if raw or instance.pk is None:
        return
    instance._client_before = (
        Interaction.objects.filter(pk=instance.pk).values_list("client_id", flat=True).first()
    )


def interaction_saved(sender, instance: Interaction, raw: bool = False, **kwargs) -> None:
    """post_save of Interaction: refresh the signals of its client, and of the client it was
    moved from (not while loading fixtures, where the client row may not be there yet)."""
    if raw:
        return
    affected = {instance.client_id, getattr(instance, "_client_before", None)} - {None}
    contact_signals_refresh(Client.objects.filter(pk__in=affected))
