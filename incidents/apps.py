from django.apps import AppConfig
from django.db.models.signals import post_migrate


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents"

    def ready(self) -> None:
        from config.schedule import install_schedule

        # The periodic schedule is stored in the database (django-celery-beat) so that
        # admins can change it; after each migrate, add any entry that is missing.
        post_migrate.connect(install_schedule, sender=self)
