from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "Abonent CRM"

    def ready(self):
        # Connects the database-connection and Celery hooks of the field history (R24).
        from crm import field_history  # noqa: F401
