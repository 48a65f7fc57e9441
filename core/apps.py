from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    # The label the kernel's tables, migrations and content types were created under, when it was
    # part of the project package: kept, so an existing database migrates with nothing to change.
    label = "crm"
    verbose_name = "Abonent CRM"

    def ready(self):
        # Connects the database-connection and Celery hooks of the field history (R24).
        from core import field_history  # noqa: F401
