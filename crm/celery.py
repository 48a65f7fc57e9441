"""The Celery application. Tasks live in each app's ``tasks.py`` and the nightly chain in ``crm.nightly``; the schedule is in settings."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

app = Celery("crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Each app's tasks.py, and the nightly chain of the project itself.
app.autodiscover_tasks()
app.conf.include = ["crm.nightly"]
