"""The Celery app. Tasks are autodiscovered from each app's ``tasks.py``;
the periodic schedule lives in the database (django-celery-beat), seeded from
``config.schedule`` so admins can change it afterwards."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
