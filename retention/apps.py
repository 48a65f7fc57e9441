from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RetentionConfig(AppConfig):
    name = "retention"
    verbose_name = _("Retention")

    def ready(self):
        # The return manager's clients are those of their cases: a scope ``clients.access`` asks.
        from retention.access import register_client_scope

        register_client_scope()
