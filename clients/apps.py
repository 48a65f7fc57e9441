from django.apps import AppConfig
from django.db.models.signals import post_save, pre_save
from django.utils.translation import gettext_lazy as _


class ClientsConfig(AppConfig):
    name = "clients"
    verbose_name = _("Clients")

    def ready(self):
        from clients.contact_signals import interaction_saved, interaction_saving
        from clients.models import Interaction

        pre_save.connect(
            interaction_saving, sender=Interaction, dispatch_uid="clients.contact_signals.pre"
        )
        post_save.connect(
            interaction_saved, sender=Interaction, dispatch_uid="clients.contact_signals"
        )
